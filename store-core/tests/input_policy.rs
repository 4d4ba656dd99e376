//! The input policy against a real PostgreSQL: every refused file names file, line and field and
//! loads nothing; the CLI matches names and branch ids as the seeder does and prints names with
//! control characters escaped.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use store_core::domain::time_zone::Tz;
use store_core::import::CsvSource;
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, assignment_data_dir, fresh_db};

const PRODUCTS: &str = "product_name,unit_price\nmilk,1.5\nbread,2\neggs,3\n";
const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount\n";
const ROW: &str =
    "SMKT001,2025-05-26T19:51:00.539354,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs,milk\",4.5\n";
const OTHER_ROW: &str =
    "SMKT002,2025-05-27T10:00:00,16a65199-b63e-40ba-8829-267460334dad,\"bread\",2\n";

fn leak(text: String) -> &'static [u8] {
    Box::leak(text.into_bytes().into_boxed_slice())
}

fn options(products: String, purchases: String) -> SeedOptions {
    SeedOptions {
        products: CsvSource::Bytes {
            name: "p.csv".into(),
            bytes: leak(products),
        },
        purchases: CsvSource::Bytes {
            name: "x.csv".into(),
            bytes: leak(purchases),
        },
        reset: false,
        progress: false,
        zone: Tz::UTC,
    }
}

async fn assert_nothing_loaded(db: &TestDb, case: &str) {
    let client = db.store.client().await.unwrap();
    for table in [
        "product",
        "supermarket",
        "purchase",
        "purchase_product",
        "customer",
        "stat_product_units",
        "stat_branch_hourly",
    ] {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{case}: {table} must be empty");
    }
}

#[tokio::test]
async fn every_refused_file_names_file_line_and_field_and_loads_nothing() {
    let db = fresh_db().await;
    let products = |rows: &str| format!("product_name,unit_price\n{rows}");
    let purchases = |rows: &str| format!("{HEADER}{ROW}{rows}");
    let cases: Vec<(&str, SeedOptions, String)> = vec![
        (
            "names that differ only by case",
            options(products("milk,1.5\nMILK,2\n"), purchases("")),
            "p.csv:3: product_name: product \"MILK\" differs only by case from \"milk\" on line 2"
                .into(),
        ),
        (
            "a control character in a name",
            options(products("\"mi\u{1b}[2Jlk\",1.5\n"), purchases("")),
            "p.csv:2: product_name: \"mi\\u{1b}[2Jlk\" holds a control character (\\u{1b})".into(),
        ),
        (
            "a comma in a name",
            options(products("\"salt, fine\",1.5\n"), purchases("")),
            "p.csv:2: product_name: \"salt, fine\" holds a comma".into(),
        ),
        (
            "an invisible character in a name",
            options(products("mi\u{200d}lk,1.5\n"), purchases("")),
            "p.csv:2: product_name: \"mi\\u{200d}lk\" holds an invisible character (\\u{200d})"
                .into(),
        ),
        (
            "a price with an exponent",
            options(products("milk,1.5e0\n"), purchases("")),
            "p.csv:2: unit_price: \"1.5e0\" is not a decimal amount".into(),
        ),
        (
            "a price with a bare trailing point",
            options(products("milk,1.\n"), purchases("")),
            "p.csv:2: unit_price: \"1.\" ends with a bare decimal point".into(),
        ),
        (
            "a price too large for any number",
            options(
                products("milk,1000000000000000000000000000000000000\n"),
                purchases(""),
            ),
            "p.csv:2: unit_price: \"1000000000000000000000000000000000000\" is too large".into(),
        ),
        (
            "a products header naming a column twice",
            options(
                "product_name,unit_price,product_name\nmilk,1.5,milk\n".into(),
                purchases(""),
            ),
            "p.csv:1: header: column \"product_name\" is named twice (columns 1 and 3)".into(),
        ),
        (
            "a purchases header naming a column twice",
            options(
                PRODUCTS.into(),
                "supermarket_id,timestamp,user_id,items_list,total_amount,user_id\n".into(),
            ),
            "x.csv:1: header: column \"user_id\" is named twice (columns 3 and 6)".into(),
        ),
        (
            "an exact duplicate purchase row",
            options(PRODUCTS.into(), purchases(&format!("{OTHER_ROW}{ROW}"))),
            "x.csv:4: row: the same purchase as line 2 (branch, time, customer and products all \
             equal): an exact duplicate"
                .into(),
        ),
        (
            "a NUL byte",
            options(
                PRODUCTS.into(),
                purchases("SMKT001,2025-05-26T19:51:00\0,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",3\n"),
            ),
            "x.csv:3: timestamp: holds a NUL byte (\\0): is this a text CSV file?".into(),
        ),
        (
            "a total too large for any number",
            options(
                PRODUCTS.into(),
                purchases("SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",99999999999999999999999999999999\n"),
            ),
            "x.csv:3: total_amount: \"99999999999999999999999999999999\" is too large".into(),
        ),
        (
            "a year beyond four digits",
            options(
                PRODUCTS.into(),
                purchases("SMKT001,+99999-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",3\n"),
            ),
            "x.csv:3: timestamp: \"+99999-05-26T19:51:00\" is not a timestamp".into(),
        ),
        (
            "year 0",
            options(
                PRODUCTS.into(),
                purchases("SMKT001,0000-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",3\n"),
            ),
            "x.csv:3: timestamp: sale time 0000-05-26T19:51:00+00:00 is before 2000-01-01".into(),
        ),
        (
            "a leap second",
            options(
                PRODUCTS.into(),
                purchases("SMKT001,2016-12-31T23:59:60.25,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",3\n"),
            ),
            "x.csv:3: timestamp: \"2016-12-31T23:59:60.25\" is a leap second".into(),
        ),
        (
            "a sale in the future",
            options(
                PRODUCTS.into(),
                purchases("SMKT001,2099-01-01T00:00:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",3\n"),
            ),
            "x.csv:3: timestamp: sale time 2099-01-01T00:00:00+00:00 is more than 5 minutes in the future".into(),
        ),
        (
            "branch ids that differ only by case",
            options(
                PRODUCTS.into(),
                purchases("smkt001,2025-05-27T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs\",3\n"),
            ),
            "x.csv:3: supermarket_id: branch \"smkt001\" differs only by case from \"SMKT001\" on line 2".into(),
        ),
        (
            "an empty products file",
            options(String::new(), purchases("")),
            "p.csv: the file is empty (it needs a header line: product_name,unit_price)".into(),
        ),
        (
            "an empty purchases file",
            options(PRODUCTS.into(), String::new()),
            "x.csv: the file is empty (it needs a header line: \
             supermarket_id,timestamp,user_id,items_list,total_amount)"
                .into(),
        ),
    ];
    for (case, options, expected) in cases {
        let err = seed::seed(&db.store, &options)
            .await
            .expect_err(case)
            .to_string();
        assert!(
            err.starts_with(&expected),
            "{case}: {err:?} should start with {expected:?}"
        );
        assert_nothing_loaded(&db, case).await;
    }
    // The same rows without the fault load.
    let report = seed::seed(
        &db.store,
        &options(PRODUCTS.into(), format!("{HEADER}{ROW}{OTHER_ROW}")),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.purchases, report.products, report.branches),
        (2, 3, 2)
    );
}

#[tokio::test]
async fn names_already_in_the_database_are_matched_the_same_way() {
    let db = fresh_db().await;
    let client = db.store.client().await.unwrap();
    client
        .batch_execute("INSERT INTO product (name, unit_price) VALUES ('Milk', 1.50)")
        .await
        .unwrap();
    let err = seed::seed(
        &db.store,
        &options(PRODUCTS.into(), format!("{HEADER}{ROW}")),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("p.csv: products \"") && err.contains("differ only by case"),
        "{err}"
    );
    client
        .batch_execute("DELETE FROM product; INSERT INTO supermarket (id) VALUES ('smkt001')")
        .await
        .unwrap();
    let err = seed::seed(
        &db.store,
        &options(PRODUCTS.into(), format!("{HEADER}{ROW}")),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("x.csv: branch ids \"") && err.contains("differ only by case"),
        "{err}"
    );
    let stored: Vec<String> = client
        .query(
            "SELECT id FROM supermarket UNION ALL SELECT name FROM product",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, ["smkt001"], "nothing loaded");
}

#[tokio::test]
async fn a_directory_is_named_as_such_and_loads_nothing() {
    let db = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let products = dir.path().join("products_list.csv");
    std::fs::write(&products, PRODUCTS).unwrap();
    for (p, x, named) in [
        (dir.path().to_path_buf(), products.clone(), dir.path()),
        (products.clone(), dir.path().to_path_buf(), dir.path()),
    ] {
        let err = seed::seed(&db.store, &SeedOptions::from_files(p, x))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("{}: is a directory, not a CSV file", named.display())
        );
        assert_nothing_loaded(&db, "directory").await;
    }
}

#[test]
fn an_os_error_is_printed_once() {
    let err = store_core::Error::io(
        "reading x.csv",
        std::io::Error::from_raw_os_error(nix::libc::EIO),
    );
    let report = format!("{:#}", anyhow::Error::from(err));
    assert_eq!(report.matches("os error 5").count(), 1, "{report}");
    assert!(report.starts_with("reading x.csv: "), "{report}");
}

/// Runs the command line against `db`, with a private home and config, within two minutes.
fn store_core(db: &TestDb, home: &Path, args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(args)
        .args(["--database-url", &db.url])
        .env("ICASH_HOME", home)
        .env("ICASH_CONFIG", home.join("config.toml"))
        .env_remove("DATABASE_URL")
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("store-core {args:?} did not finish within 120 s");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_matches_names_and_branches_as_the_seeder_does() {
    let db = fresh_db().await;
    let base = assignment_data_dir();
    seed::seed(
        &db.store,
        &SeedOptions::from_files(base.join("products_list.csv"), base.join("purchases.csv")),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let purchases = |db: &TestDb| {
        let db = db.store.clone();
        async move {
            let n: i64 = db
                .client()
                .await
                .unwrap()
                .query_one("SELECT count(*) FROM purchase", &[])
                .await
                .unwrap()
                .get(0);
            n
        }
    };

    // Case and surrounding spaces are ignored in product names, as in an items_list.
    let out = store_core(
        &db,
        home.path(),
        &[
            "purchase",
            "--supermarket",
            "SMKT002",
            "--user",
            "new",
            "--items",
            " MILK ,Eggs,orange JUICE",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["milk", "eggs", "orange juice"]);
    assert_eq!(purchases(&db).await, 2184);

    // Branch ids are matched exactly, as the seeder matches them.
    for (args, says) in [
        (
            ["--supermarket", "smkt002", "--items", "milk"],
            "error: --supermarket: unknown branch \"smkt002\" (known: SMKT001, SMKT002, SMKT003; \
             branch ids are matched exactly)",
        ),
        (
            ["--supermarket", "SMKT002", "--items", "milk,,eggs"],
            "error: --items: an empty product name in the list",
        ),
        (
            ["--supermarket", "SMKT002", "--items", "milk,caviar"],
            "error: --items: unknown product \"caviar\" (known: milk, bread, eggs,",
        ),
    ] {
        let mut all = vec!["purchase", "--user", "new"];
        all.extend(args);
        let out = store_core(&db, home.path(), &all);
        assert!(!out.status.success(), "{args:?} must be refused");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with(says), "{args:?}: {stderr:?}");
    }
    assert_eq!(purchases(&db).await, 2184, "nothing written by a refusal");

    // A directory: one clear message, with the file, exit code non-zero.
    let dir = home.path().join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let out = store_core(
        &db,
        home.path(),
        &[
            "seed",
            "--reset",
            "--products",
            dir.to_str().unwrap(),
            "--purchases",
            base.join("purchases.csv").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!("error: {}: is a directory, not a CSV file", dir.display())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_printed_with_control_characters_escaped() {
    let db = fresh_db().await;
    // Another path than the seeder (which refuses it) stored a name with terminal escapes.
    db.store
        .client()
        .await
        .unwrap()
        .batch_execute(
            "INSERT INTO supermarket (id) VALUES ('SMKT001'); \
             INSERT INTO product (name, unit_price) VALUES (E'milk\\x1b[2J\\u202Egone', 1.50)",
        )
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = store_core(&db, home.path(), &["catalog"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("milk\\u{1b}[2J\\u{202e}gone"), "{stdout:?}");
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'));

    let out = store_core(
        &db,
        home.path(),
        &[
            "purchase",
            "--supermarket",
            "SMKT001",
            "--user",
            "new",
            "--items",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("milk\\u{1b}[2J\\u{202e}gone"), "{stdout:?}");
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
}
