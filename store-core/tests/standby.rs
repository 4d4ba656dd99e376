//! Dashboards on a hot standby: nothing can be written there, so the exact figures come from
//! the counters plus the still-queued sales, read only; they must equal a recount on the
//! primary, for the owner's role, and a sale committed on the primary must show on the standby.

// The simulator is the `store-core` program's: compiled in from its sources.
#[allow(dead_code)]
#[path = "../src/cli/mod.rs"]
mod cli;
// The bench (in `cli`) measures the HTTP API, so its sources come along.
#[allow(dead_code)]
#[path = "../src/serve/mod.rs"]
mod serve;

use std::time::{Duration, Instant};

use cli::simulate::random_sale;
use rand::SeedableRng;
use rand::rngs::StdRng;
use store_core::Store;
use store_core::db::live;
use store_core::db::store::ConnectOptions;
use store_core::domain::analytics::{self, Counters, Dashboard, Filter, Period, TrendBucket};
use store_core::domain::catalog::{load_catalog, sample_customers};
use store_core::domain::checkout::submit;
use store_core::seed::{self, SeedOptions};
use store_testkit::StandbyPair;

async fn owner_on(url: &str) -> Store {
    Store::connect(&ConnectOptions {
        database_url: Some(format!("{url} user=icash_owner")),
        ..ConnectOptions::default()
    })
    .await
    .unwrap()
}

/// Waits (bounded) until the standby has replayed everything the primary wrote so far.
async fn wait_for_replay(primary: &Store, standby: &Store) {
    let primary_lsn: String = primary
        .client()
        .await
        .unwrap()
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let standby = standby.client().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let caught_up: bool = standby
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&primary_lsn],
            )
            .await
            .unwrap()
            .get(0);
        if caught_up {
            return;
        }
        assert!(Instant::now() < deadline, "the standby did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sell(primary: &Store, sales: usize, seed: u64) {
    let client = primary.client().await.unwrap();
    let catalog = load_catalog(&client).await.unwrap();
    let known = sample_customers(&client, 100).await.unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..sales {
        let branch = catalog.branches[i % catalog.branches.len()].id.clone();
        let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.7);
        submit(primary, &sale).await.unwrap();
    }
}

fn filters() -> Vec<Filter> {
    [None, Some("SMKT001"), Some("SMKT002"), Some("SMKT003")]
        .into_iter()
        .map(|branch| Filter {
            supermarket_id: branch.map(String::from),
            period: Period::AllTime,
            ..Filter::default()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_dashboard_adds_the_queue_and_equals_a_recount_on_the_primary() {
    let pair = StandbyPair::start().await;
    let primary = pair.store().await;
    seed::seed(&primary, &SeedOptions::demo()).await.unwrap();
    sell(&primary, 300, 1).await;
    let queued: i64 = primary
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert!(queued > 0, "nothing queued: the test would prove nothing");
    let standby = owner_on(&pair.standby_url()).await;
    wait_for_replay(&primary, &standby).await;

    let reader = standby.client().await.unwrap();
    let recounter = primary.client().await.unwrap();
    assert_eq!(
        analytics::fold_where_allowed(&reader).await.unwrap(),
        Counters::WithQueue
    );
    assert!(analytics::standby_lag(&reader).await.unwrap().is_some());
    assert_eq!(analytics::standby_lag(&recounter).await.unwrap(), None);
    for filter in filters() {
        for min in [1, 2, 3] {
            let (on_standby, trend) =
                analytics::dashboard_with_trend(&reader, &filter, min, 50, TrendBucket::Day)
                    .await
                    .unwrap();
            let recount = analytics::dashboard_from_rows(&recounter, &filter, min, 50)
                .await
                .unwrap();
            assert_eq!(
                Dashboard {
                    generated_at: recount.generated_at,
                    ..on_standby.clone()
                },
                recount,
                "the standby differs from a recount for {filter:?} at min {min}"
            );
            let charted: i64 = trend.iter().map(|p| p.purchases).sum();
            assert_eq!(charted, on_standby.purchases(), "{filter:?}");
            let page = analytics::loyal_buyers_page(&reader, &filter, min, 3, 7)
                .await
                .unwrap();
            let whole = analytics::dashboard_from_rows(&recounter, &filter, min, 1000)
                .await
                .unwrap()
                .loyal_page;
            let expected: Vec<_> = whole.into_iter().skip(3).take(7).collect();
            assert_eq!(page, expected, "loyal page for {filter:?} at min {min}");
        }
    }
    // Nothing was folded by reading: the queue is still there on the primary.
    let still_queued: i64 = recounter
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(still_queued, queued);
    // `store-core fold`, on the primary, empties the queue; the standby's figures stay the same.
    let before_fold = analytics::dashboard(&reader, &Filter::default(), 2, 50)
        .await
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_store-core"))
        .args(["fold", "--database-url", &pair.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("folded {queued} queued sales")
    );
    wait_for_replay(&primary, &standby).await;
    let after_fold = analytics::dashboard(&reader, &Filter::default(), 2, 50)
        .await
        .unwrap();
    assert_eq!(
        Dashboard {
            generated_at: before_fold.generated_at,
            ..after_fold
        },
        before_fold
    );
    let report = analytics::report(&reader, 2).await.unwrap();
    let recount = analytics::dashboard_from_rows(&recounter, &Filter::default(), 2, i64::MAX)
        .await
        .unwrap();
    assert_eq!(report.loyal_buyers, recount.loyal_page);
    assert_eq!(report.unique_buyers, recount.unique_buyers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_committed_on_the_primary_shows_on_the_standby_dashboard() {
    let pair = StandbyPair::start().await;
    let primary = pair.store().await;
    seed::seed(&primary, &SeedOptions::demo()).await.unwrap();
    let standby = owner_on(&pair.standby_url()).await;
    wait_for_replay(&primary, &standby).await;
    let reader = standby.client().await.unwrap();
    let before = analytics::dashboard(&reader, &Filter::default(), 3, 10)
        .await
        .unwrap()
        .purchases();
    // The dashboard's listener: on a standby, a watch of the replay position.
    let (notices_tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::spawn({
        let settings = standby.config().clone();
        async move { live::listen(settings, &[live::PURCHASE_CHANNEL], notices_tx).await }
    });
    let ready = tokio::time::timeout(Duration::from_secs(10), notices.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ready.channel, live::LISTENING);
    // Whatever the standby replays before the sale (a checkpoint, a fold) may announce itself.
    tokio::time::sleep(live::REPLAY_WATCH_INTERVAL * 2).await;
    while notices.try_recv().is_ok() {}

    sell(&primary, 1, 2).await;
    let committed = Instant::now();
    let deadline = committed + Duration::from_secs(2);
    let notice = tokio::time::timeout_at(deadline.into(), notices.recv())
        .await
        .expect("no notice of the sale within 2 s of its commit")
        .unwrap();
    assert_eq!(notice.channel, live::PURCHASE_CHANNEL);
    let noticed_after = committed.elapsed();
    loop {
        let now = analytics::dashboard(&reader, &Filter::default(), 3, 10)
            .await
            .unwrap()
            .purchases();
        if now == before + 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sale did not reach the standby's dashboard within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "standby dashboard: noticed {:.0} ms and shown {:.0} ms after the sale's commit on the primary",
        noticed_after.as_secs_f64() * 1000.0,
        committed.elapsed().as_secs_f64() * 1000.0
    );
    listener.abort();
}

/// A standby whose replication is cut keeps its last received position, so "replayed all it
/// received" would read as current forever: without a WAL receiver its lag is the age of the
/// last transaction it replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_cut_from_its_primary_is_not_shown_as_current() {
    let pair = StandbyPair::start().await;
    let primary = pair.store().await;
    seed::seed(&primary, &SeedOptions::demo()).await.unwrap();
    sell(&primary, 3, 7).await;
    let standby = owner_on(&pair.standby_url()).await;
    wait_for_replay(&primary, &standby).await;
    let reader = standby.client().await.unwrap();
    assert_eq!(
        analytics::standby_lag(&reader).await.unwrap(),
        Some(analytics::StandbyLag { lag_ms: 0 }),
        "streaming and caught up"
    );

    let admin = store_core::db::store::connect_one(&pair.standby.config("postgres"))
        .await
        .unwrap();
    for statement in [
        "ALTER SYSTEM SET primary_conninfo = ''",
        "SELECT pg_reload_conf()",
    ] {
        admin.batch_execute(statement).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let receiving: bool = admin
            .query_one("SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver)", &[])
            .await
            .unwrap()
            .get(0);
        if !receiving {
            break;
        }
        assert!(Instant::now() < deadline, "the WAL receiver did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // At least this long since the last replayed transaction, by construction.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let lag = analytics::standby_lag(&reader).await.unwrap().unwrap();
    assert!(lag.lag_ms >= 50, "{lag:?}");
}
