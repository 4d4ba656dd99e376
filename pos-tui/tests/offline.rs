//! Fault tests: the till keeps selling when the database stops, and what it sold offline reaches
//! the database exactly once, even though the till was killed (SIGKILL) before it could send it;
//! a damaged journal does not stop the till, and every sale it can read is still sent; a till
//! started while the database is away sells from the catalog an earlier run kept.

mod pty;

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pty::{Till, uuid_after};
use store_core::Store;
use store_core::domain::checkout::{CustomerChoice, Sale};
use store_core::seed::{SeedOptions, seed};
use store_core::till::journal::{Journal, quarantine_path};
use store_testkit::{PrivateServer, fresh_db};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(60);

/// Purchases of `customer` and their products, retried until the database answers (its pool may
/// hold connections from before the restart).
fn purchases_of(runtime: &tokio::runtime::Runtime, store: &Store, customer: Uuid) -> Vec<Vec<i32>> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let result = runtime.block_on(async {
            let client = store.client().await?;
            let rows = client
                .query(
                    "SELECT (SELECT array_agg(product_id ORDER BY product_id) \
                     FROM purchase_product WHERE purchase_id = p.id) \
                     FROM purchase p WHERE user_id = $1",
                    &[&customer],
                )
                .await?;
            Ok::<_, store_core::Error>(rows.iter().map(|r| r.get::<_, Vec<i32>>(0)).collect())
        });
        match result {
            Ok(found) => return found,
            Err(e) if Instant::now() > deadline => panic!("the database did not answer: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

#[test]
fn a_sale_made_offline_survives_a_killed_till_and_lands_exactly_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pg = PrivateServer::start();
    let store = runtime.block_on(async {
        let store = pg.store().await;
        seed(&store, &SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        store
    });
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("tills/till-1.jsonl");
    let journal_arg = journal.to_str().unwrap();
    let url = pg.url();

    let mut till = Till::start(&url, home.path(), &["--journal", journal_arg]);
    till.wait_for("SMKT003");
    till.send("1");
    till.wait_for("Customer: not chosen");

    // The database stops abruptly; the cashier goes on with the sale.
    pg.server.stop(true).expect("stopping the database");
    till.send("n");
    let screen = till.wait_for("Customer: NEW");
    let customer = uuid_after(&screen, "Customer: NEW");
    till.send("1\r");
    till.wait_for("Cart: 1 item(s)");
    till.send("2\r");
    till.wait_for("Cart: 2 item(s)");
    till.send("s\r");
    let screen = till.wait_for("SAVED OFFLINE");
    assert!(
        screen.contains("will be sent when the database is back"),
        "{screen}"
    );
    assert_eq!(uuid_after(&screen, "Customer  "), customer, "{screen}");
    let sale_key = uuid_after(&screen, "Sale key  ");
    assert!(
        screen.contains("milk") && screen.contains("bread"),
        "{screen}"
    );
    till.wait_for("offline: 1 sale waiting");

    // The till dies without a chance to send anything (portable-pty's kill is a SIGHUP, which
    // pos-tui handles; this is SIGKILL).
    let pid = till.child.process_id().expect("the till's pid");
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("killing the till");
    let status = till.wait_exit();
    assert!(!status.success(), "{status:?}");
    let text = std::fs::read_to_string(&journal).expect("the journal");
    assert!(text.contains(&sale_key.to_string()), "{text}");

    // The database comes back; it does not have the sale yet.
    pg.server.start().expect("starting the database again");
    assert_eq!(
        purchases_of(&runtime, &store, customer),
        Vec::<Vec<i32>>::new()
    );

    // A new till on the same journal sends it at start.
    let mut till = Till::start(&url, home.path(), &["--journal", journal_arg]);
    till.wait_for("1 queued sale(s) sent to the database");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let found = purchases_of(&runtime, &store, customer);
        if found == vec![vec![1, 2]] {
            break;
        }
        assert!(found.is_empty(), "not exactly one purchase: {found:?}");
        assert!(Instant::now() < deadline, "the queued sale never arrived");
        std::thread::sleep(Duration::from_millis(200));
    }
    let screen = till.screen();
    assert!(!screen.contains("waiting"), "{screen}");
    till.send("q");
    assert!(till.wait_exit().success());

    // Once, and nothing left owed.
    assert_eq!(purchases_of(&runtime, &store, customer), vec![vec![1, 2]]);
    let journal = Journal::open(&journal).expect("the journal, free again");
    assert_eq!(journal.pending_count(), 0);
    assert!(journal.refused().is_empty());
}

#[test]
fn a_till_started_while_the_database_is_away_sells_from_the_kept_catalog() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pg = PrivateServer::start();
    let store = runtime.block_on(async {
        let store = pg.store().await;
        seed(&store, &SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        store
    });
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("till.jsonl");
    let journal_arg = journal.to_str().unwrap();
    let kept = home.path().join("till.catalog.json");
    let url = pg.url();

    // Once online: the catalog it loads is kept beside the journal.
    let mut till = Till::start(&url, home.path(), &["--journal", journal_arg]);
    till.wait_for("SMKT003");
    let deadline = Instant::now() + DEADLINE;
    while !kept.exists() {
        assert!(Instant::now() < deadline, "the catalog was never kept");
        std::thread::sleep(Duration::from_millis(100));
    }
    till.send("q");
    assert!(till.wait_exit().success());

    // The database is away when the till starts again: it sells from the kept catalog.
    pg.server.stop(true).expect("stopping the database");
    let mut till = Till::start(&url, home.path(), &["--journal", journal_arg]);
    let screen = till.wait_for("catalog from");
    assert!(
        screen.contains("offline") && screen.contains("SMKT003"),
        "{screen}"
    );
    till.send("2");
    till.wait_for("Customer: not chosen");
    till.send("n");
    let screen = till.wait_for("Customer: NEW");
    let customer = uuid_after(&screen, "Customer: NEW");
    till.send("1\r");
    till.wait_for("Cart: 1 item(s)");
    till.send("3\r");
    till.wait_for("Cart: 2 item(s)");
    till.send("s\r");
    let screen = till.wait_for("SAVED OFFLINE");
    assert!(
        screen.contains("milk") && screen.contains("eggs") && screen.contains("SMKT002"),
        "{screen}"
    );
    till.wait_for("offline: 1 sale waiting");

    // The database comes back: the live catalog replaces the kept one and the sale is sent.
    pg.server.start().expect("starting the database again");
    till.wait_for("1 queued sale(s) sent to the database");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let found = purchases_of(&runtime, &store, customer);
        if found == vec![vec![1, 3]] {
            break;
        }
        assert!(found.is_empty(), "not exactly one purchase: {found:?}");
        assert!(Instant::now() < deadline, "the queued sale never arrived");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + DEADLINE;
    while till.screen().contains("catalog from") {
        assert!(
            Instant::now() < deadline,
            "the kept catalog was never replaced:\n{}",
            till.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    till.send("q");
    assert!(till.wait_exit().success());

    // Once, and nothing left owed.
    assert_eq!(purchases_of(&runtime, &store, customer), vec![vec![1, 3]]);
    let journal = Journal::open(&journal).expect("the journal, free again");
    assert_eq!(journal.pending_count(), 0);
}

#[test]
fn a_damaged_journal_does_not_stop_the_till_and_every_sale_it_holds_is_sent() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = fresh_db().await;
        seed(&db.store, &SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        db
    });
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("till.jsonl");
    let sales: Vec<Sale> = [vec![1, 2], vec![3]]
        .into_iter()
        .map(|products| {
            let mut sale = Sale::open("SMKT002", CustomerChoice::new_customer());
            sale.product_ids = products;
            sale.sold_at = Some(chrono::Utc::now());
            sale
        })
        .collect();
    {
        let mut j = Journal::open(&journal).unwrap();
        for sale in &sales {
            j.record(sale).unwrap();
        }
    }
    // A line the disk garbled between the two sales, and a last entry cut short.
    let bytes = std::fs::read(&journal).unwrap();
    let first_end = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    let garbled: &[u8] = b"{\"op\":\"sale\",\xff\xfe garbled";
    let torn: &[u8] = b"{\"op\":\"done\",\"sale_k";
    let damaged = [
        &bytes[..first_end],
        garbled,
        b"\n",
        &bytes[first_end..],
        torn,
    ]
    .concat();
    std::fs::write(&journal, damaged).unwrap();

    let mut till = Till::start(
        &db.url,
        home.path(),
        &["--journal", journal.to_str().unwrap()],
    );
    till.wait_for("journal repaired (R)");
    till.wait_for("2 queued sale(s) sent to the database");
    let keys: Vec<Uuid> = sales.iter().map(|s| s.sale_key).collect();
    let recorded: i64 = runtime.block_on(async {
        db.store
            .client()
            .await
            .unwrap()
            .query_one(
                "SELECT count(*) FROM purchase WHERE sale_key = ANY($1)",
                &[&keys],
            )
            .await
            .unwrap()
            .get(0)
    });
    assert_eq!(recorded, 2);
    // R says what was moved, and where.
    till.send("R");
    let screen = till.wait_for("till.jsonl.quarantine");
    assert!(screen.contains("unreadable line 2"), "{screen}");
    till.send("q");
    assert!(till.wait_exit().success());
    assert_eq!(
        std::fs::read(quarantine_path(&journal)).unwrap(),
        [garbled, b"\n", torn, b"\n"].concat()
    );
    let journal = Journal::open(&journal).unwrap();
    assert_eq!(journal.repair(), None);
    assert_eq!(journal.pending_count(), 0);
}

#[test]
fn at_the_till_a_refused_sale_is_resent_once_fixed_and_another_set_aside_with_a_reason() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = fresh_db().await;
        seed(&db.store, &SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        db
    });
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("till.jsonl");
    let refused: Vec<Sale> = [993, 994]
        .into_iter()
        .map(|missing| {
            let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
            sale.product_ids = vec![1, missing];
            sale.sold_at = Some(chrono::Utc::now());
            sale
        })
        .collect();
    {
        let mut j = Journal::open(&journal).unwrap();
        for sale in &refused {
            j.record(sale).unwrap();
            j.mark_refused(
                sale.sale_key,
                format!("unknown product: {}", sale.product_ids[1]),
            )
            .unwrap();
        }
    }
    // The missing product of the first sale is added back.
    let recorded = |key: Uuid| -> i64 {
        runtime.block_on(async {
            db.store
                .client()
                .await
                .unwrap()
                .query_one("SELECT count(*) FROM purchase WHERE sale_key = $1", &[&key])
                .await
                .unwrap()
                .get(0)
        })
    };
    runtime.block_on(async {
        db.store
            .client()
            .await
            .unwrap()
            .execute(
                "INSERT INTO product (id, name, unit_price) VALUES (993, 'found again', 1.10)",
                &[],
            )
            .await
            .unwrap()
    });

    let mut till = Till::start(
        &db.url,
        home.path(),
        &["--journal", journal.to_str().unwrap()],
    );
    till.wait_for("2 refused (R)");
    till.send("R");
    till.wait_for("Refused queued sales: 2");
    till.send("r");
    till.wait_for("1 queued sale(s) sent to the database");
    assert_eq!(recorded(refused[0].sale_key), 1);
    till.wait_for("Refused queued sales: 1");
    till.send("a");
    till.wait_for("why is it not sent?");
    till.send("test sale, never paid\r");
    till.wait_for("set aside: kept in the journal");
    let screen = till.screen();
    assert!(!screen.contains("refused (R)"), "{screen}");
    till.send("q");
    assert!(till.wait_exit().success());

    assert_eq!(recorded(refused[1].sale_key), 0);
    let journal = Journal::open(&journal).unwrap();
    assert!(journal.refused().is_empty());
    assert_eq!(journal.pending_count(), 0);
    let aside = journal.set_aside_sales();
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].sale, refused[1]);
    assert_eq!(aside[0].reason, "test sale, never paid");
}

#[test]
fn a_second_till_on_the_same_journal_is_refused_before_the_screen_opens() {
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("till.jsonl");
    let _first = Journal::open(&journal).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pos-tui"))
        .args(["--journal", journal.to_str().unwrap()])
        .args(["--database-url", "host=/nonexistent dbname=icash"])
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", home.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("give each till its own --journal"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_config_file_is_an_error_before_the_screen_opens() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "supermarket = \"SMKT002\"\nrefresh = 5\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pos-tui"))
        .env("ICASH_HOME", home.path())
        .env("ICASH_CONFIG", &config)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:2: config:", config.display())),
        "{stderr}"
    );
}

#[test]
fn version_is_printed() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pos-tui"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("pos-tui {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definition() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_pos-tui"))
            .args(args)
            .env("DATABASE_URL", "host=/nonexistent")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let bash = run(&["--completions", "bash"]);
    assert!(
        bash.contains("--supermarket") && bash.contains("--journal"),
        "{bash}"
    );
    let man = run(&["--man"]);
    assert!(
        man.contains(".TH pos-tui 1") && man.contains("supermarket"),
        "{man}"
    );
}

#[test]
fn the_compose_file_runs_a_command_pos_tui_accepts() {
    store_testkit::assert_compose_command_accepted("pos", "pos-tui", env!("CARGO_BIN_EXE_pos-tui"));
}

#[test]
fn a_malformed_url_is_a_usage_error_on_the_command_line_and_a_failure_in_the_file() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    let pos_tui = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pos-tui"))
            .args(args)
            .env("ICASH_HOME", home.path())
            .env("ICASH_CONFIG", &config)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let output = pos_tui(&["--database-url", "postgresql://a@b:notaport/c"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");

    std::fs::write(&config, "database_url = \"postgresql://a@b:notaport/c\"\n").unwrap();
    let output = pos_tui(&[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}: database_url:", config.display())),
        "{stderr}"
    );
}
