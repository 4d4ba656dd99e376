//! Fault tests: no confirmed sale lost or doubled when the database dies under load, when a seed
//! is killed mid-load, or when many tills hammer the same customers.

// The simulator and the generator are the `store-core` program's: compiled in from its sources.
#[allow(dead_code)]
#[path = "../src/cli/mod.rs"]
mod cli;
// The bench (in `cli`) measures the HTTP API, so its sources come along.
#[allow(dead_code)]
#[path = "../src/serve/mod.rs"]
mod serve;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cli::simulate::random_sale;
use rand::SeedableRng;
use rand::rngs::StdRng;
use store_core::Store;
use store_core::domain::analytics::{self, Dashboard, Filter};
use store_core::domain::catalog::{load_catalog, sample_customers};
use store_core::domain::checkout::submit;
use store_core::seed::{self, SeedOptions};
use store_core::till::journal::{self, Journal, Outcome, SharedJournal};
use store_testkit::{PrivateServer, fresh_db};
use uuid::Uuid;

async fn assert_counters_equal_recount(store: &Store) {
    let client = store.client().await.unwrap();
    let branches = [None, Some("SMKT001"), Some("SMKT002"), Some("SMKT003")];
    for min in [1, 2, 3, 4] {
        for branch in branches {
            let filter = Filter {
                supermarket_id: branch.map(String::from),
                period: analytics::Period::AllTime,
                ..Filter::default()
            };
            // All time: the counters (the chain's or the branch's).
            let fast = analytics::dashboard(&client, &filter, min, 50)
                .await
                .unwrap();
            let recount = analytics::dashboard_from_rows(&client, &filter, min, 50)
                .await
                .unwrap();
            assert_eq!(
                Dashboard {
                    generated_at: recount.generated_at,
                    ..fast
                },
                recount,
                "counters differ from a recount for {branch:?} at min {min}"
            );
            // The last 30 days: the day-level counters.
            let filter = Filter {
                period: analytics::Period::Last30Days,
                ..filter
            };
            let fast = analytics::dashboard(&client, &filter, min, 50)
                .await
                .unwrap();
            let recount = analytics::dashboard_from_rows(&client, &filter, min, 50)
                .await
                .unwrap();
            assert_eq!(
                Dashboard {
                    generated_at: recount.generated_at,
                    ..fast
                },
                recount,
                "day counters differ from a recount for {branch:?} at min {min}"
            );
        }
    }
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abrupt_database_stop_loses_and_doubles_no_confirmed_sale() {
    let private = PrivateServer::start();
    let store = private.store().await;
    seed::seed(&store, &SeedOptions::demo()).await.unwrap();
    let (catalog, known) = {
        let client = store.client().await.unwrap();
        (
            load_catalog(&client).await.unwrap(),
            sample_customers(&client, 200).await.unwrap(),
        )
    };
    let journals_dir = tempfile::tempdir().unwrap();
    let confirmed: Arc<Mutex<Vec<Uuid>>> = Arc::default();
    let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let mut tills = Vec::new();
    for till in 0..4 {
        let store = store.clone();
        let catalog = catalog.clone();
        let known = known.clone();
        let confirmed = confirmed.clone();
        let queued = queued.clone();
        let journal: SharedJournal = Arc::new(Mutex::new(
            Journal::open(journals_dir.path().join(format!("till{till}.journal"))).unwrap(),
        ));
        tills.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(till);
            let branch = catalog.branches[till as usize % 3].id.clone();
            let deadline = Instant::now() + Duration::from_secs(4);
            while Instant::now() < deadline {
                let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.5);
                match journal::submit_durably(&store, &journal, &sale).await {
                    Ok(Outcome::Recorded(r)) => confirmed.lock().unwrap().push(r.sale_key),
                    Ok(Outcome::Queued(s)) => {
                        queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        confirmed.lock().unwrap().push(s.sale_key);
                    }
                    Err(e) => panic!("a cashier saw an error: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            journal
        }));
    }

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let server = private.server.clone();
    tokio::task::spawn_blocking(move || server.stop(true).unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let server = private.server.clone();
    tokio::task::spawn_blocking(move || server.start().unwrap())
        .await
        .unwrap();

    let mut journals = Vec::new();
    for t in tills {
        journals.push(t.await.unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for journal in &journals {
        loop {
            let report = journal::drain(&store, journal).await.unwrap();
            assert_eq!(report.refused, 0);
            if report.still_pending == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "journals did not drain");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let confirmed = confirmed.lock().unwrap().clone();
    assert!(
        queued.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the outage queued no sale: the test proved nothing"
    );
    let client = store.client().await.unwrap();
    let stored: Vec<Uuid> = client
        .query(
            "SELECT sale_key FROM purchase WHERE sale_key IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let stored_set: HashSet<Uuid> = stored.iter().copied().collect();
    assert_eq!(stored.len(), stored_set.len(), "a sale key is stored twice");
    let confirmed_set: HashSet<Uuid> = confirmed.iter().copied().collect();
    assert_eq!(confirmed.len(), confirmed_set.len());
    let missing: Vec<_> = confirmed_set.difference(&stored_set).collect();
    assert!(
        missing.is_empty(),
        "{} confirmed sales are missing",
        missing.len()
    );
    assert_eq!(
        stored_set, confirmed_set,
        "the database holds sales no till confirmed"
    );
    assert_counters_equal_recount(&store).await;
}

/// Voids and refunds sent while the database stops abruptly and comes back, each retried with
/// its key until answered: every one is recorded exactly once, and the counters equal a
/// recount.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn voids_and_refunds_through_an_abrupt_stop_are_recorded_once_and_keep_the_counters_exact() {
    use store_core::domain::checkout::{CustomerChoice, Payment, Sale};
    use store_core::domain::refund::{self, ManagerPin, RefundError, RefundRequest, VoidRequest};
    let private = PrivateServer::start();
    let store = private.store().await;
    seed::seed(&store, &SeedOptions::demo()).await.unwrap();
    store_core::domain::cashier::add_cashier_with(
        &store.client().await.unwrap(),
        9,
        "Boss",
        Some("9999"),
        true,
    )
    .await
    .unwrap();
    let mut sold = Vec::new();
    for n in 1..=80i64 {
        let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer())
            .at_till("T1", None)
            .paid_with(Payment::cash(None));
        sale.product_ids = vec![1, 2, 3 + (n % 5) as i32];
        sale.receipt_no = Some(n);
        sold.push(submit(&store, &sale).await.unwrap());
    }
    let undoer = {
        let store = store.clone();
        tokio::spawn(async move {
            let (mut voids, mut refunds, mut retried) = (Vec::new(), Vec::new(), 0);
            let deadline = Instant::now() + Duration::from_secs(60);
            for (i, receipt) in sold.iter().enumerate() {
                if i % 2 == 0 {
                    let request = VoidRequest {
                        void_key: Uuid::now_v7(),
                        purchase_id: receipt.purchase_id,
                        till: "T1".into(),
                        cashier: None,
                        manager: 9,
                        manager_pin: ManagerPin::new("9999"),
                        reason: "fault test".into(),
                    };
                    while let Err(e) = refund::void_purchase(&store, &request).await {
                        assert!(matches!(e, RefundError::Unavailable(_)), "{e}");
                        assert!(Instant::now() < deadline);
                        retried += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    voids.push(request.void_key);
                } else {
                    let request = RefundRequest {
                        refund_key: Uuid::now_v7(),
                        purchase_id: receipt.purchase_id,
                        product_ids: vec![receipt.lines[i % receipt.lines.len()].product_id],
                        till: "T1".into(),
                        cashier: None,
                        manager: 9,
                        manager_pin: ManagerPin::new("9999"),
                        reason: "fault test".into(),
                    };
                    while let Err(e) = refund::refund_purchase(&store, &request).await {
                        assert!(matches!(e, RefundError::Unavailable(_)), "{e}");
                        assert!(Instant::now() < deadline);
                        retried += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    refunds.push(request.refund_key);
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (voids, refunds, retried)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = private.server.clone();
    tokio::task::spawn_blocking(move || server.stop(true).unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = private.server.clone();
    tokio::task::spawn_blocking(move || server.start().unwrap())
        .await
        .unwrap();
    let (voids, refunds, retried) = undoer.await.unwrap();
    assert!(
        retried > 0,
        "the outage interrupted nothing: the test proved nothing"
    );
    let client = store.client().await.unwrap();
    let stored_voids: Vec<Uuid> = client
        .query("SELECT void_key FROM purchase_void ORDER BY void_key", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let stored_refunds: Vec<Uuid> = client
        .query("SELECT refund_key FROM refund ORDER BY refund_key", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut voids = voids;
    voids.sort();
    let mut refunds = refunds;
    refunds.sort();
    assert_eq!(stored_voids, voids);
    assert_eq!(stored_refunds, refunds);
    assert_counters_equal_recount(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tills_of_a_thousand_sales_lose_nothing_and_see_no_deadlock() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let (catalog, known) = {
        let client = db.store.client().await.unwrap();
        (
            load_catalog(&client).await.unwrap(),
            sample_customers(&client, 50).await.unwrap(),
        )
    };
    let tills = (0..16u64).map(|till| {
        let store = db.store.clone();
        let catalog = catalog.clone();
        let known = known.clone();
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(100 + till);
            let branch = catalog.branches[till as usize % 3].id.clone();
            for _ in 0..1000 {
                let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.8);
                if let Err(e) = submit(&store, &sale).await {
                    panic!("a cashier saw an error: {e}");
                }
            }
        })
    });
    for t in futures_util::future::join_all(tills).await {
        t.unwrap();
    }
    let count: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM purchase WHERE sale_key IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 16_000);
    assert_counters_equal_recount(&db.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_killed_mid_load_leaves_nothing_and_a_second_run_completes() {
    let db = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    cli::generate::generate(&cli::generate::GenerateOptions {
        purchases: 300_000,
        users: 100_000,
        seed: 3,
        out: dir.path().to_path_buf(),
        start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        days: 60,
    })
    .unwrap();
    let seed_cmd = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_store-core"));
        cmd.args(["seed", "--database-url", &db.url, "--products"])
            .arg(dir.path().join("products_list.csv"))
            .arg("--purchases")
            .arg(dir.path().join("purchases.csv"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let mut child = seed_cmd().spawn().unwrap();
    let client = db.store.client().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait until the load is streaming rows, then kill the seeder.
    loop {
        let copying: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
                 AND query LIKE 'COPY purchase %' AND state = 'active')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if copying {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the seed ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "the seed never started copying");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // The server notices the dead client and rolls the transaction back.
    loop {
        let busy: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'icash' AND pid <> pg_backend_pid() AND state <> 'idle')",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if !busy {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed seed's transaction lingers"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for table in ["purchase", "purchase_product", "customer", "product"] {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{table} holds part of the killed load");
    }
    let status = seed_cmd().status().unwrap();
    assert!(status.success());
    let n: i64 = client
        .query_one("SELECT count(*) FROM purchase", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 300_000);
    assert_counters_equal_recount(&db.store).await;
}
