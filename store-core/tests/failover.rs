//! Tills that follow a failover: a local primary and its synchronous hot standby; the tills
//! sell through the real checkout and journal with one connection string naming both
//! (`target_session_attrs=read-write`); the primary dies abruptly and the standby is promoted.
//! Every sale a till confirmed must be in the new primary exactly once, and the analytics must
//! equal a recount. A read-only server is a passing failure for the journal, never a refusal.

// The simulator is the `store-core` program's: compiled in from its sources.
#[allow(dead_code)]
#[path = "../src/cli/mod.rs"]
mod cli;
// The bench (in `cli`) measures the HTTP API, so its sources come along.
#[allow(dead_code)]
#[path = "../src/serve/mod.rs"]
mod serve;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cli::simulate::random_sale;
use rand::SeedableRng;
use rand::rngs::StdRng;
use store_core::Store;
use store_core::db::store::ConnectOptions;
use store_core::domain::analytics::{self, Dashboard, Filter};
use store_core::domain::catalog::{load_catalog, sample_customers};
use store_core::domain::checkout::{CustomerChoice, Sale, submit};
use store_core::error::CheckoutError;
use store_core::seed::{self, SeedOptions};
use store_core::till::journal::{self, Journal, Outcome, SharedJournal};
use store_testkit::StandbyPair;
use uuid::Uuid;

const TILLS: u64 = 4;

async fn assert_counters_equal_recount(store: &Store) {
    let client = store.client().await.unwrap();
    for branch in [None, Some("SMKT001"), Some("SMKT002"), Some("SMKT003")] {
        let filter = Filter {
            supermarket_id: branch.map(String::from),
            ..Filter::default()
        };
        let fast = analytics::dashboard(&client, &filter, 3, 50).await.unwrap();
        let recount = analytics::dashboard_from_rows(&client, &filter, 3, 50)
            .await
            .unwrap();
        assert_eq!(
            Dashboard {
                generated_at: recount.generated_at,
                ..fast
            },
            recount,
            "counters differ from a recount for {branch:?}"
        );
    }
}

/// What the tills saw, for the figures printed at the end.
#[derive(Default)]
struct TillLog {
    confirmed: Vec<Uuid>,
    queued: usize,
    /// When a sale was first queued, and when one was next recorded after that.
    first_queued: Option<Instant>,
    back_online: Option<Instant>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tills_carry_on_through_a_failover_and_lose_or_double_no_confirmed_sale() {
    let pair = StandbyPair::start().await;
    let store = pair.store().await;
    seed::seed(&store, &SeedOptions::demo()).await.unwrap();
    let (catalog, known) = {
        let client = store.client().await.unwrap();
        (
            load_catalog(&client).await.unwrap(),
            sample_customers(&client, 200).await.unwrap(),
        )
    };
    let journals_dir = tempfile::tempdir().unwrap();
    let log: Arc<Mutex<TillLog>> = Arc::default();
    let sent_by_tills = Arc::new(AtomicUsize::new(0));
    let selling_after_failover = Arc::new(AtomicUsize::new(0));

    let mut tills = Vec::new();
    for till in 0..TILLS {
        let (store, catalog, known, log) =
            (store.clone(), catalog.clone(), known.clone(), log.clone());
        let sent_by_tills = sent_by_tills.clone();
        let selling_after_failover = selling_after_failover.clone();
        let journal: SharedJournal = Arc::new(Mutex::new(
            Journal::open(journals_dir.path().join(format!("till{till}.journal"))).unwrap(),
        ));
        tills.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(till);
            let branch = catalog.branches[till as usize % 3].id.clone();
            // Sell until well after the failover: each till makes 50 recorded sales on the new
            // primary, so the sales queued in the gap are sent while it sells on.
            let mut recorded_after_failover = 0;
            let deadline = Instant::now() + Duration::from_secs(40);
            while recorded_after_failover < 50 {
                assert!(
                    Instant::now() < deadline,
                    "till {till} did not get back online"
                );
                let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.5);
                let outcome = journal::submit_durably(&store, &journal, &sale).await;
                let after_failover = selling_after_failover.load(Ordering::SeqCst) > 0;
                match outcome {
                    Ok(Outcome::Recorded(r)) => {
                        {
                            let mut log = log.lock().unwrap();
                            log.confirmed.push(r.sale_key);
                            if log.first_queued.is_some() && log.back_online.is_none() {
                                log.back_online = Some(Instant::now());
                            }
                        }
                        if after_failover {
                            recorded_after_failover += 1;
                        }
                        // Online again: what was queued goes now, as a till's drain does.
                        let pending = { journal.lock().unwrap().pending_count() };
                        if pending > 0 {
                            let report = journal::drain(&store, &journal).await.unwrap();
                            assert_eq!(report.refused, 0, "a queued sale was refused");
                            sent_by_tills.fetch_add(report.sent, Ordering::SeqCst);
                        }
                    }
                    Ok(Outcome::Queued(s)) => {
                        let mut log = log.lock().unwrap();
                        log.confirmed.push(s.sale_key);
                        log.queued += 1;
                        log.first_queued.get_or_insert_with(Instant::now);
                    }
                    Err(e) => panic!("a cashier saw an error: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            journal
        }));
    }

    tokio::time::sleep(Duration::from_millis(800)).await;
    let stopped_at = Instant::now();
    let primary = pair.primary.clone();
    tokio::task::spawn_blocking(move || primary.stop(true).unwrap())
        .await
        .unwrap();
    // The gap an operator (or a failover manager) takes to decide.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let standby = pair.standby.clone();
    tokio::task::spawn_blocking(move || standby.promote().unwrap())
        .await
        .unwrap();
    let promoted_after = stopped_at.elapsed();
    selling_after_failover.store(1, Ordering::SeqCst);

    let mut journals = Vec::new();
    for t in tills {
        journals.push(t.await.unwrap());
    }
    // Whatever is still queued goes now.
    let mut sent_at_the_end = 0;
    for journal in &journals {
        let report = journal::drain(&store, journal).await.unwrap();
        assert_eq!(report.refused, 0);
        assert_eq!(report.still_pending, 0, "{:?}", report.stopped);
        sent_at_the_end += report.sent;
    }

    let log = std::mem::take(&mut *log.lock().unwrap());
    assert!(
        log.queued > 0,
        "the failover queued no sale: the test proved nothing"
    );
    let client = store.client().await.unwrap();
    let in_recovery: bool = client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!in_recovery, "the store is not on the promoted standby");
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
    let confirmed_set: HashSet<Uuid> = log.confirmed.iter().copied().collect();
    assert_eq!(log.confirmed.len(), confirmed_set.len());
    let missing = confirmed_set.difference(&stored_set).count();
    assert_eq!(missing, 0, "{missing} confirmed sales are missing");
    assert_eq!(
        stored_set, confirmed_set,
        "the new primary holds sales no till confirmed"
    );
    assert_counters_equal_recount(&store).await;
    let offline = match (log.first_queued, log.back_online) {
        (Some(a), Some(b)) => format!("{:.2} s", (b - a).as_secs_f64()),
        _ => "?".into(),
    };
    eprintln!(
        "failover: standby promoted {:.2} s after the primary stopped; tills offline {offline}; \
         {} sales confirmed, {} queued offline, {} sent by the tills' drains while selling, \
         {} at the end; none lost or doubled",
        promoted_after.as_secs_f64(),
        log.confirmed.len(),
        log.queued,
        sent_by_tills.load(Ordering::SeqCst),
        sent_at_the_end
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_server_queues_the_sale_and_is_not_kept_in_the_pool() {
    let pair = StandbyPair::start().await;
    let primary = pair.store().await;
    seed::seed(&primary, &SeedOptions::demo()).await.unwrap();
    let catalog = load_catalog(&primary.client().await.unwrap())
        .await
        .unwrap();
    // The standby alone, as a till misconfigured or left on a demoted primary would see it.
    let standby = Store::connect(&ConnectOptions {
        database_url: Some(pair.standby_url()),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let mut sale = Sale::open(&catalog.branches[0].id, CustomerChoice::new_customer());
    sale.product_ids = vec![catalog.products[0].id];

    let err = submit(&standby, &sale).await.unwrap_err();
    assert!(
        matches!(&err, CheckoutError::Unavailable(m) if m.contains("read-only")),
        "{err:?}"
    );
    assert!(!err.is_business_refusal());
    assert_eq!(
        standby.pool().status().size,
        0,
        "a connection to a read-only server went back to the pool"
    );

    let dir = tempfile::tempdir().unwrap();
    let journal: SharedJournal = Arc::new(Mutex::new(
        Journal::open(dir.path().join("till.journal")).unwrap(),
    ));
    let outcome = journal::submit_durably(&standby, &journal, &sale)
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Queued(_)), "{outcome:?}");
    let report = journal::drain(&standby, &journal).await.unwrap();
    assert_eq!(
        (report.sent, report.refused, report.still_pending),
        (0, 0, 1)
    );
    assert!(report.stopped.is_some_and(|e| !e.is_business_refusal()));
    // The primary takes it, once.
    let report = journal::drain(&primary, &journal).await.unwrap();
    assert_eq!((report.sent, report.still_pending), (1, 0));
    let client = primary.client().await.unwrap();
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM purchase WHERE sale_key = $1",
            &[&sale.sale_key],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
}
