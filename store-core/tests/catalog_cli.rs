//! `store-core branch`, `product` and `cashier` from the shell, against the real server: as
//! the schema's owner (the embedded default's case) and as icash_manager; the clerk is refused
//! with what to do.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use store_core::db::roles::{RolePasswords, create_roles};
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, fresh_db};

fn run(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", home.path().join("config.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = run(url, args, None);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn refused(url: &str, args: &[&str]) -> String {
    let out = run(url, args, None);
    assert!(!out.status.success(), "{args:?} succeeded: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

fn json(url: &str, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(url, args)).unwrap()
}

fn as_role(db: &TestDb, role: &str) -> String {
    db.url.replace("user=postgres", &format!("user={role}"))
}

async fn demo_db() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    create_roles(&db.store.client().await.unwrap(), RolePasswords::default())
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn branches_from_the_shell() {
    let db = demo_db().await;
    let url = as_role(&db, "icash_manager");
    let out = ok(
        &url,
        &[
            "branch",
            "add",
            "SMKT004",
            "--name",
            "Riverside",
            "--timezone",
            "Asia/Tokyo",
        ],
    );
    assert_eq!(out, "branch SMKT004 added\n");
    ok(
        &url,
        &["branch", "rename", "SMKT004", "--name", "Riverside Mall"],
    );
    let err = refused(
        &url,
        &[
            "branch",
            "add",
            "SMKT005",
            "--name",
            "X",
            "--timezone",
            "Tokyo",
        ],
    );
    assert!(
        err.contains("unknown time zone Tokyo: give an IANA name such as Europe/Paris"),
        "{err}"
    );
    let err = refused(&url, &["branch", "add", "SMKT001", "--name", "Again"]);
    assert!(err.contains("branch SMKT001 exists already"), "{err}");
    let err = refused(&url, &["branch", "rename", "NOPE", "--name", "X"]);
    assert!(err.contains("unknown branch NOPE"), "{err}");

    let branches = json(&url, &["branch", "list", "--json"]);
    let added = branches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "SMKT004")
        .unwrap();
    assert_eq!(added["name"], "Riverside Mall");
    assert_eq!(added["timezone"], "Asia/Tokyo");
    let listed = ok(&url, &["branch", "list"]);
    assert!(
        listed.contains("SMKT004") && listed.contains("Asia/Tokyo"),
        "{listed}"
    );
    assert!(listed.contains("(chain's time zone)"), "{listed}");

    // The clerk may not, and is told who may.
    let err = refused(
        &as_role(&db, "icash_clerk"),
        &["branch", "add", "SMKT006", "--name", "Nope"],
    );
    assert!(
        err.contains("permission denied") && err.contains("store-core roles --manager-password"),
        "{err}"
    );
}

#[tokio::test]
async fn products_from_the_shell_as_the_owner_of_the_schema() {
    let db = demo_db().await;
    let url = db.url.clone();
    let out = ok(&url, &["product", "add", "oat milk", "--price", "1.95"]);
    assert_eq!(out, "product \"oat milk\" added: id 11, 1.95\n");
    let out = ok(&url, &["product", "price", "OAT MILK", "2.10"]);
    assert_eq!(out, "product \"oat milk\" (id 11): 1.95 -> 2.10\n");
    let out = ok(&url, &["product", "retire", "11"]);
    assert_eq!(
        out,
        "product \"oat milk\" (id 11) retired: no longer sold\n"
    );
    let out = ok(&url, &["product", "retire", "oat milk"]);
    assert_eq!(out, "product \"oat milk\" (id 11) was retired already\n");
    let err = refused(&url, &["product", "add", "Oat Milk", "--price", "1"]);
    assert!(
        err.contains("exists already (id 11, retired: `store-core product restore`"),
        "{err}"
    );
    let err = refused(&url, &["product", "add", "x", "--price", "0"]);
    assert!(err.contains("not a unit price"), "{err}");
    let err = refused(&url, &["product", "add", "a,b", "--price", "1"]);
    assert!(err.contains("holds a comma"), "{err}");
    let err = refused(&url, &["product", "price", "caviar", "9"]);
    assert!(err.contains("no product \"caviar\""), "{err}");

    let listed = ok(&url, &["product", "list"]);
    let line = listed.lines().find(|l| l.contains("oat milk")).unwrap();
    assert!(
        line.contains("2.10") && line.contains("retired"),
        "{listed}"
    );
    let products = json(&url, &["product", "list", "--json"]);
    let oat = &products.as_array().unwrap()[10];
    assert_eq!(oat["unit_price"], "2.10");
    assert!(oat["retired_at"].is_string(), "{oat}");
    // The catalog a till loads leaves it out.
    let catalog = json(&url, &["catalog", "--json"]);
    assert_eq!(catalog["products"].as_array().unwrap().len(), 10);

    let out = ok(&url, &["product", "restore", "oat milk"]);
    assert_eq!(out, "product \"oat milk\" (id 11) is on sale again\n");
    let catalog = json(&url, &["catalog", "--json"]);
    assert_eq!(catalog["products"].as_array().unwrap().len(), 11);
}

#[tokio::test]
async fn cashiers_from_the_shell_with_a_pin_read_from_stdin() {
    let db = demo_db().await;
    let url = as_role(&db, "icash_manager");
    let out = run(
        &url,
        &["cashier", "add", "12", "--name", "Ada", "--pin"],
        Some("4321\n"),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cashier 12 (Ada) added with a PIN\n"
    );
    ok(&url, &["cashier", "add", "13", "--name", "Grace"]);
    let out = run(
        &url,
        &["cashier", "add", "14", "--name", "Bob", "--pin"],
        Some("12\n"),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a PIN is 4 to 12 digits"),
        "{out:?}"
    );
    let err = refused(&url, &["cashier", "add", "12", "--name", "Again"]);
    assert!(err.contains("cashier number 12 is taken"), "{err}");
    assert_eq!(
        ok(&url, &["cashier", "retire", "13"]),
        "cashier 13 retired\n"
    );

    let listed = json(&url, &["cashier", "list", "--json"]);
    let text = listed.to_string();
    assert!(!text.contains("argon2") && !text.contains("4321"), "{text}");
    assert_eq!(listed[0]["number"], 12);
    assert_eq!(listed[0]["has_pin"], true);
    assert!(listed[0]["retired_at"].is_null());
    assert!(listed[1]["retired_at"].is_string());
    assert!(listed.as_array().unwrap().len() == 2);
    let plain = ok(&url, &["cashier", "list"]);
    assert!(
        plain.contains("Ada") && plain.contains("retired"),
        "{plain}"
    );

    // The stored PIN is a hash that checks against what was typed.
    let roster = store_core::domain::cashier::load_roster(&db.store.client().await.unwrap())
        .await
        .unwrap();
    assert_eq!(roster.len(), 1);
    assert!(roster[0].verify_pin("4321") && !roster[0].verify_pin("1234"));
    let err = refused(&as_role(&db, "icash_owner"), &["cashier", "retire", "12"]);
    assert!(err.contains("permission denied"), "{err}");
}

#[tokio::test]
async fn a_seed_that_leaves_no_branch_says_how_to_add_one() {
    let db = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let products = dir.path().join("products.csv");
    let purchases = dir.path().join("purchases.csv");
    std::fs::write(&products, "product_name,unit_price\nmilk,1.50\n").unwrap();
    std::fs::write(
        &purchases,
        "supermarket_id,timestamp,user_id,items_list,total_amount\n",
    )
    .unwrap();
    let out = run(
        &db.url,
        &[
            "seed",
            "--products",
            products.to_str().unwrap(),
            "--purchases",
            purchases.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no branch") && stderr.contains("store-core branch add ID --name NAME"),
        "{stderr}"
    );
    // With a branch, no warning.
    ok(&db.url, &["branch", "add", "SMKT001", "--name", "Harbour"]);
    let out = run(
        &db.url,
        &[
            "seed",
            "--products",
            products.to_str().unwrap(),
            "--purchases",
            purchases.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("no branch"),
        "{out:?}"
    );
}

#[tokio::test]
async fn managers_and_shift_reports_from_the_shell() {
    use store_core::domain::checkout::{self, CustomerChoice, Payment, Sale};
    use store_core::domain::refund::{self, ManagerPin, VoidRequest};
    let db = demo_db().await;
    let manager_url = as_role(&db, "icash_manager");
    let out = run(
        &manager_url,
        &[
            "cashier",
            "add",
            "20",
            "--name",
            "Boss",
            "--manager",
            "--pin",
        ],
        Some("2468\n"),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "manager 20 (Boss) added with a PIN\n"
    );
    // The database keeps its own hash of a manager's PIN, which no login role reads.
    let secrets: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM manager_secret WHERE manager = 20 AND pin_hash LIKE '$2a$%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(secrets, 1);
    // A manager without a PIN could confirm nothing: refused before anything is written.
    let out = run(
        &manager_url,
        &["cashier", "add", "22", "--name", "Nopin", "--manager"],
        None,
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--pin"),
        "{out:?}"
    );
    ok(&manager_url, &["cashier", "add", "21", "--name", "Ann"]);
    let listed = json(&manager_url, &["cashier", "list", "--json"]);
    assert_eq!(listed[0]["is_manager"], true);
    assert_eq!(listed[1]["is_manager"], false);
    let plain = ok(&manager_url, &["cashier", "list"]);
    assert!(plain.lines().next().unwrap().contains("manager"), "{plain}");
    assert!(
        !plain.lines().nth(1).unwrap().contains("manager"),
        "{plain}"
    );

    // Two sales at T01, one voided, as a till makes them.
    let mut sold = Vec::new();
    for (n, payment) in [
        (1, Payment::cash(Some("20".parse().unwrap()))),
        (2, Payment::card()),
    ] {
        let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer())
            .at_till("T01", Some(21))
            .paid_with(payment);
        sale.product_ids = vec![1, 2];
        sale.receipt_no = Some(n);
        sold.push(checkout::submit(&db.store, &sale).await.unwrap());
    }
    refund::void_purchase(
        &db.store,
        &VoidRequest {
            void_key: uuid::Uuid::now_v7(),
            purchase_id: sold[1].purchase_id,
            till: "T01".into(),
            cashier: Some(21),
            manager: 20,
            manager_pin: ManagerPin::new("2468"),
            reason: "card declined".into(),
        },
    )
    .await
    .unwrap();

    let clerk_url = as_role(&db, "icash_clerk");
    let reports = json(
        &clerk_url,
        &[
            "report",
            "shift",
            "--till",
            "T01",
            "--json",
            "--timezone",
            "UTC",
        ],
    );
    let report = &reports[0];
    assert_eq!(reports.as_array().unwrap().len(), 1);
    assert_eq!(report["sales"], 2);
    assert_eq!(report["voids"], 1);
    assert_eq!(
        report["revenue"],
        (sold[0].total_amount + sold[1].total_amount).to_string()
    );
    assert_eq!(report["cash_expected"], sold[0].total_amount.to_string());
    // Net: the voided sale's money is not kept.
    assert_eq!(report["net"], sold[0].total_amount.to_string());
    assert_eq!(report["first_receipt_no"], 1);
    assert!(report["closed_at"].is_null());
    let text = ok(
        &clerk_url,
        &["report", "shift", "--till", "T01", "--timezone", "UTC"],
    );
    assert!(
        text.contains("X, open") && text.contains("cash expected"),
        "{text}"
    );
    assert!(text.contains("T01-000001 to T01-000002"), "{text}");
    let none = ok(
        &clerk_url,
        &[
            "report",
            "shift",
            "--till",
            "T01",
            "--date",
            "2001-01-01",
            "--timezone",
            "UTC",
        ],
    );
    assert_eq!(none, "till T01: no shift on 2001-01-01\n");
    // The owner, which executes no function, reads the same figures from the tables: for an
    // open shift with a void, then for that shift closed and the next with a cash refund.
    let owner_url = as_role(&db, "icash_owner");
    let args = [
        "report",
        "shift",
        "--till",
        "T01",
        "--json",
        "--timezone",
        "UTC",
    ];
    assert_eq!(json(&owner_url, &args), reports);
    store_core::domain::shift::close_shift(&db.store, "T01", Some(21))
        .await
        .unwrap();
    refund::refund_purchase(
        &db.store,
        &refund::RefundRequest {
            refund_key: uuid::Uuid::now_v7(),
            purchase_id: sold[0].purchase_id,
            product_ids: vec![2],
            till: "T01".into(),
            cashier: Some(21),
            manager: 20,
            manager_pin: ManagerPin::new("2468"),
            reason: "stale".into(),
        },
    )
    .await
    .unwrap();
    let both = json(&clerk_url, &args);
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert_eq!(both[1]["refunds"], 1);
    assert_eq!(both[1]["sales"], 0);
    assert!(
        both[1]["cash_expected"].as_str().unwrap().starts_with('-'),
        "{both}"
    );
    assert_eq!(json(&owner_url, &args), both);
    let err = refused(
        &as_role(&db, "icash_manager"),
        &["report", "shift", "--till", "T01"],
    );
    assert!(err.contains("icash_clerk"), "{err}");
    let err = refused(&clerk_url, &["report", "shift", "--till", "no such till"]);
    assert!(err.contains("--till"), "{err}");
}
