//! A queued sale is refused only for a business reason: against a real PostgreSQL, a lock or
//! statement timeout and a read-only database keep it queued until the fault is gone, and a
//! refused sale can be resent (or set aside) from the shell.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use store_core::Store;
use store_core::db::store::connect_one;
use store_core::domain::checkout::{CustomerChoice, Sale};
use store_core::seed::{self, SeedOptions};
use store_core::till::journal::{self, Journal, Outcome, SharedJournal};
use store_testkit::{TestDb, fresh_db, server};
use uuid::Uuid;

/// Every test here is over well before this.
const LIMIT: Duration = Duration::from_secs(60);

async fn demo_db() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    db
}

/// A sale made ten minutes ago (to the second, as the database stores it to the microsecond).
fn sale(products: &[i32]) -> Sale {
    let mut s = Sale::open("SMKT001", CustomerChoice::new_customer());
    s.product_ids = products.to_vec();
    let at = Utc::now() - chrono::Duration::minutes(10);
    s.sold_at = Some(at.with_nanosecond(0).unwrap());
    s
}

/// A till's pool whose every session has `setting` (`lock_timeout=200`, ...).
fn till_store(db: &TestDb, setting: &str) -> Store {
    let mut config = server().server.config(&db.name);
    config.options(format!("-c {setting}"));
    Store::from_config(config, db.name.clone(), 2).unwrap()
}

fn journal_in(dir: &Path) -> SharedJournal {
    Arc::new(Mutex::new(Journal::open(dir.join("till.journal")).unwrap()))
}

/// Where and when the database recorded each sale key (none: not recorded).
async fn recorded(db: &TestDb, key: Uuid) -> Vec<DateTime<Utc>> {
    db.store
        .client()
        .await
        .unwrap()
        .query(
            "SELECT created_at FROM purchase WHERE sale_key = $1",
            &[&key],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_or_statement_timeout_keeps_queued_sales_queued_until_the_lock_is_gone() {
    tokio::time::timeout(LIMIT, async {
        for setting in ["lock_timeout=200", "statement_timeout=200"] {
            let db = demo_db().await;
            let till = till_store(&db, setting);
            let dir = tempfile::tempdir().unwrap();
            let journal = journal_in(dir.path());
            // A sale queued by an earlier outage.
            let (earlier, now) = (sale(&[1, 2]), sale(&[3]));
            journal.lock().unwrap().record(&earlier).unwrap();

            // Someone holds the purchase table (a long migration, a stuck session).
            let locker = connect_one(&server().server.config(&db.name))
                .await
                .unwrap();
            locker
                .batch_execute("BEGIN; LOCK TABLE purchase IN ACCESS EXCLUSIVE MODE")
                .await
                .unwrap();
            match journal::submit_durably(&till, &journal, &now).await {
                Ok(Outcome::Queued(queued)) => assert_eq!(queued.sale_key, now.sale_key),
                other => panic!("{setting}: expected the sale queued, got {other:?}"),
            }
            let report = journal::drain(&till, &journal).await.unwrap();
            assert_eq!(
                (report.sent, report.refused),
                (0, 0),
                "{setting}: {report:?}"
            );
            assert_eq!(report.still_pending, 2, "{setting}");
            let stopped = report.stopped.expect("the round stopped at the timeout");
            assert!(!stopped.is_business_refusal(), "{setting}: {stopped}");
            assert!(journal.lock().unwrap().refused().is_empty(), "{setting}");
            // (Read through the lock holder: anyone else would wait behind the lock.)
            let keys = vec![earlier.sale_key, now.sale_key];
            let stored: i64 = locker
                .query_one(
                    "SELECT count(*) FROM purchase WHERE sale_key = ANY($1)",
                    &[&keys],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(stored, 0, "{setting}");

            // The lock is released: the same till sends both, once each, at their own time.
            locker.batch_execute("ROLLBACK").await.unwrap();
            let report = journal::drain(&till, &journal).await.unwrap();
            assert_eq!(report.sent, 2, "{setting}: {report:?}");
            assert_eq!(report.stopped, None);
            assert_eq!(journal.lock().unwrap().pending_count(), 0);
            for s in [&earlier, &now] {
                assert_eq!(recorded(&db, s.sale_key).await, vec![s.sold_at.unwrap()]);
            }
        }
    })
    .await
    .expect("bounded in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_standby_keeps_queued_sales_queued_and_the_primary_records_them() {
    tokio::time::timeout(LIMIT, async {
        let db = demo_db().await;
        let standby = till_store(&db, "default_transaction_read_only=on");
        let dir = tempfile::tempdir().unwrap();
        let journal = journal_in(dir.path());
        let s = sale(&[4, 5]);
        match journal::submit_durably(&standby, &journal, &s).await {
            Ok(Outcome::Queued(_)) => {}
            other => panic!("expected the sale queued, got {other:?}"),
        }
        let report = journal::drain(&standby, &journal).await.unwrap();
        assert_eq!(
            (report.sent, report.refused, report.still_pending),
            (0, 0, 1)
        );
        let stopped = report.stopped.expect("stopped");
        assert!(stopped.to_string().contains("read-only"), "{stopped}");

        // After failing back to a writable server.
        let report = journal::drain(&db.store, &journal).await.unwrap();
        assert_eq!((report.sent, report.still_pending), (1, 0));
        assert_eq!(recorded(&db, s.sale_key).await, vec![s.sold_at.unwrap()]);
    })
    .await
    .expect("bounded in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_business_refusal_refuses_only_that_sale_and_a_resend_records_it_with_its_key_and_time() {
    tokio::time::timeout(LIMIT, async {
        let db = demo_db().await;
        let dir = tempfile::tempdir().unwrap();
        let journal = journal_in(dir.path());
        let (wrong, fine) = (sale(&[1, 990]), sale(&[2]));
        journal.lock().unwrap().record(&wrong).unwrap();
        journal.lock().unwrap().record(&fine).unwrap();
        let report = journal::drain(&db.store, &journal).await.unwrap();
        assert_eq!(
            (report.sent, report.refused, report.still_pending),
            (1, 1, 0)
        );
        assert_eq!(report.stopped, None);
        let refused = journal.lock().unwrap().refused().to_vec();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].sale, wrong);
        assert!(refused[0].reason.contains("990"), "{}", refused[0].reason);

        // The product is added back; the cashier resends the sale.
        db.store
            .client()
            .await
            .unwrap()
            .execute(
                "INSERT INTO product (id, name, unit_price) VALUES (990, 'lost item', 2.50)",
                &[],
            )
            .await
            .unwrap();
        journal.lock().unwrap().resend(wrong.sale_key).unwrap();
        let report = journal::drain(&db.store, &journal).await.unwrap();
        assert_eq!((report.sent, report.refused), (1, 0));
        assert_eq!(
            recorded(&db, wrong.sale_key).await,
            vec![wrong.sold_at.unwrap()]
        );
        assert!(journal.lock().unwrap().refused().is_empty());
    })
    .await
    .expect("bounded in time");
}

fn store_core(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(args)
        .env("ICASH_HOME", home)
        .env("ICASH_CONFIG", home.join("no-config.toml"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_command_lists_resends_and_exports_and_refuses_a_journal_in_use() {
    let db = demo_db().await;
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("till.journal");
    let path_arg = path.to_str().unwrap();
    let (pending, refused, aside) = (sale(&[1]), sale(&[2, 991]), sale(&[992]));
    {
        let mut j = Journal::open(&path).unwrap();
        for s in [&refused, &aside, &pending] {
            j.record(s).unwrap();
        }
        j.mark_refused(refused.sale_key, "unknown product: 991".into())
            .unwrap();
        j.mark_refused(aside.sale_key, "unknown product: 992".into())
            .unwrap();
        j.set_aside(aside.sale_key, "test sale, never paid")
            .unwrap();

        // While a till holds it.
        let out = store_core(home.path(), &["journal", "list", "--journal", path_arg]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("in use by another till"),
            "{}",
            stderr(&out)
        );
    }

    let out = store_core(
        home.path(),
        &["journal", "list", "--journal", path_arg, "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = |v: &serde_json::Value| v["sale_key"].as_str().unwrap().to_string();
    assert_eq!(listing["pending"].as_array().unwrap().len(), 1);
    assert_eq!(key(&listing["pending"][0]), pending.sale_key.to_string());
    assert_eq!(
        key(&listing["refused"][0]["sale"]),
        refused.sale_key.to_string()
    );
    assert_eq!(listing["refused"][0]["reason"], "unknown product: 991");
    assert_eq!(listing["set_aside"][0]["reason"], "test sale, never paid");
    assert_eq!(listing["quarantine"], serde_json::Value::Null);
    let text = stdout(&store_core(
        home.path(),
        &["journal", "list", "--journal", path_arg],
    ));
    assert!(
        text.contains("pending: 1") && text.contains("refused: 1") && text.contains("set aside: 1"),
        "{text}"
    );

    // Every entry, for the office.
    let out = store_core(home.path(), &["journal", "export", "--journal", path_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut csv = csv::Reader::from_reader(&out.stdout[..]);
    let ops: Vec<String> = csv
        .records()
        .map(|r| r.unwrap().get(1).unwrap().to_string())
        .collect();
    assert_eq!(
        ops,
        ["sale", "sale", "sale", "refused", "refused", "set_aside"]
    );
    assert_eq!(
        csv.headers().unwrap().iter().take(3).collect::<Vec<_>>(),
        ["line", "op", "sale_key"]
    );
    let out = store_core(
        home.path(),
        &["journal", "export", "--journal", path_arg, "--json"],
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[5]["op"], "set_aside");

    // A key that is not a refused sale changes nothing.
    let out = store_core(
        home.path(),
        &[
            "journal",
            "resend",
            "--journal",
            path_arg,
            "--sale",
            &pending.sale_key.to_string(),
            "--database-url",
            &db.url,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not among the refused sales"),
        "{}",
        stderr(&out)
    );
    assert!(recorded(&db, pending.sale_key).await.is_empty());

    // An unreachable database changes nothing either.
    let out = store_core(
        home.path(),
        &[
            "journal",
            "resend",
            "--journal",
            path_arg,
            "--all-refused",
            "--database-url",
            "host=/nonexistent port=1 dbname=icash",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach the database"),
        "{}",
        stderr(&out)
    );
    let j = Journal::open(&path).unwrap();
    assert_eq!((j.pending_count(), j.refused().len()), (1, 1));
    drop(j);

    // The product is fixed; the office sends the pending sale and the refused one.
    db.store
        .client()
        .await
        .unwrap()
        .execute(
            "INSERT INTO product (id, name, unit_price) VALUES (991, 'found item', 1.25)",
            &[],
        )
        .await
        .unwrap();
    let out = store_core(
        home.path(),
        &[
            "journal",
            "resend",
            "--journal",
            path_arg,
            "--sale",
            &refused.sale_key.to_string(),
            "--database-url",
            &db.url,
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sent"], 2);
    assert_eq!(report["still_pending"], 0);
    for s in [&pending, &refused] {
        assert_eq!(recorded(&db, s.sale_key).await, vec![s.sold_at.unwrap()]);
    }
    assert!(recorded(&db, aside.sale_key).await.is_empty());

    // Every column is there for the office, and the header even for an empty journal.
    let empty = home.path().join("empty.journal");
    drop(Journal::open(&empty).unwrap());
    let out = store_core(
        home.path(),
        &["journal", "export", "--journal", empty.to_str().unwrap()],
    );
    assert_eq!(
        stdout(&out).trim_end(),
        "line,op,sale_key,supermarket_id,user_id,new_customer,product_ids,till_total,sold_at,\
         purchase_id,reason,at,till,cashier,receipt_no"
    );
    let out = store_core(home.path(), &["journal", "export", "--journal", path_arg]);
    let header = stdout(&out).lines().next().unwrap().to_string();
    assert!(
        header.ends_with(",reason,at,till,cashier,receipt_no"),
        "{header}"
    );

    let out = store_core(
        home.path(),
        &["journal", "list", "--journal", "/nonexistent/till.journal"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such journal"), "{}", stderr(&out));
}
