//! The figures of docs/SCALING.md for a primary and a synchronous hot standby on this machine:
//! sales per second through the real checkout at 16 tills with `store-core fold --every 1`'s
//! loop running, what each fold round costs, how soon a sale committed on the primary is
//! readable on the standby, and what the standby's read-only dashboard costs for queues of
//! several lengths against the primary's fold-then-read.
//!
//! ```sh
//! cargo run -p store-core --example standby_figures -- 6
//! ```
//! (the argument: seconds of selling; the servers are throwaway ones of the test kit).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../src/cli/mod.rs"]
mod cli;
// The bench (in `cli`) measures the HTTP API, so its sources come along.
#[allow(dead_code)]
#[path = "../src/serve/mod.rs"]
mod serve;

use cli::simulate::random_sale;
use rand::SeedableRng;
use rand::rngs::StdRng;
use store_core::Store;
use store_core::db::store::ConnectOptions;
use store_core::domain::analytics::{self, Filter, TrendBucket};
use store_core::domain::catalog::{load_catalog, sample_customers};
use store_core::domain::checkout::submit;
use store_core::seed::{self, SeedOptions};
use store_testkit::StandbyPair;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn sell(store: &Store, tills: u64, until: Instant, seed: u64) -> u64 {
    let client = store.client().await.unwrap();
    let catalog = load_catalog(&client).await.unwrap();
    let known = sample_customers(&client, 500).await.unwrap();
    drop(client);
    let sold = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..tills)
        .map(|till| {
            let (store, catalog, known, sold) =
                (store.clone(), catalog.clone(), known.clone(), sold.clone());
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed * 100 + till);
                let branch = catalog.branches[till as usize % catalog.branches.len()]
                    .id
                    .clone();
                while Instant::now() < until {
                    let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.7);
                    submit(&store, &sale).await.unwrap();
                    sold.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    sold.load(Ordering::Relaxed)
}

async fn dashboard_times(store: &Store, rounds: usize) -> (Duration, Duration) {
    let client = store.client().await.unwrap();
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        analytics::dashboard_with_trend(&client, &Filter::default(), 3, 50, TrendBucket::Day)
            .await
            .unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let pair = StandbyPair::start().await;
    let primary = pair.store().await;
    seed::seed(&primary, &SeedOptions::demo()).await.unwrap();
    let standby = Store::connect(&ConnectOptions {
        database_url: Some(format!("{} user=icash_owner", pair.standby_url())),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();

    // 1. Sixteen tills, with the fold loop and a probe of the standby's visibility.
    let until = Instant::now() + Duration::from_secs(seconds);
    let stop = Arc::new(AtomicBool::new(false));
    let folder = tokio::spawn({
        let (primary, stop) = (primary.clone(), stop.clone());
        async move {
            let client = primary.client().await.unwrap();
            let mut rounds = Vec::new();
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            while !stop.load(Ordering::Relaxed) {
                ticks.tick().await;
                let started = Instant::now();
                let folded = analytics::fold(&client).await.unwrap();
                rounds.push((started.elapsed(), folded));
            }
            rounds
        }
    });
    let probe = tokio::spawn({
        let (primary, standby, stop) = (primary.clone(), standby.clone(), stop.clone());
        async move {
            let client = primary.client().await.unwrap();
            let catalog = load_catalog(&client).await.unwrap();
            let reader = standby.client().await.unwrap();
            let mut rng = StdRng::seed_from_u64(7);
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sale = random_sale(&mut rng, &catalog, &catalog.branches[0].id, &[], 0.0);
                submit(&primary, &sale).await.unwrap();
                let committed = Instant::now();
                loop {
                    let found = reader
                        .query_opt(
                            "SELECT 1 FROM purchase WHERE sale_key = $1",
                            &[&sale.sale_key],
                        )
                        .await
                        .unwrap();
                    if found.is_some() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                seen.push(committed.elapsed());
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            seen
        }
    });
    let started = Instant::now();
    let sold = sell(&primary, 16, until, 1).await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let rounds = folder.await.unwrap();
    let mut seen = probe.await.unwrap();
    seen.sort();
    let fold_time: Duration = rounds.iter().map(|(d, _)| *d).sum();
    let folded: i64 = rounds.iter().map(|(_, n)| *n).sum();
    println!(
        "16 tills, synchronous standby: {sold} sales in {:.1} s = {:.0} sales/s",
        elapsed.as_secs_f64(),
        sold as f64 / elapsed.as_secs_f64()
    );
    println!(
        "fold every 1 s: {} rounds, {folded} sales folded, {:.1} ms per round on average \
         ({:.2} % of one connection's time), {:.1} µs per sale",
        rounds.len(),
        ms(fold_time) / rounds.len().max(1) as f64,
        fold_time.as_secs_f64() * 100.0 / elapsed.as_secs_f64(),
        fold_time.as_secs_f64() * 1e6 / folded.max(1) as f64
    );
    println!(
        "a sale readable on the standby after its commit: median {:.1} ms, p95 {:.1} ms, \
         max {:.1} ms ({} probes); the dashboard's watch adds at most 200 ms and its refresh \
         schedule at most 400 ms",
        ms(percentile(&seen, 0.5)),
        ms(percentile(&seen, 0.95)),
        ms(*seen.last().unwrap()),
        seen.len()
    );

    // 2. The dashboard's cost: the primary folds then reads; the standby adds the queue.
    analytics::fold(&primary.client().await.unwrap())
        .await
        .unwrap();
    let (p50, p95) = dashboard_times(&primary, 30).await;
    println!(
        "dashboard on the primary (fold, then counters): median {:.2} ms, p95 {:.2} ms",
        ms(p50),
        ms(p95)
    );
    let mut queued = 0u64;
    for target in [0u64, 1_000, 10_000, 50_000] {
        while queued < target {
            // Sold on the primary, nothing folds: the queue grows.
            let until = Instant::now() + Duration::from_millis(200);
            queued += sell(&primary, 16, until, 2 + queued).await;
        }
        let lsn: String = primary
            .client()
            .await
            .unwrap()
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .unwrap()
            .get(0);
        let reader = standby.client().await.unwrap();
        while !reader
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&lsn],
            )
            .await
            .unwrap()
            .get::<_, bool>(0)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (p50, p95) = dashboard_times(&standby, 30).await;
        println!(
            "dashboard on the standby (counters + {queued} queued, read only): median {:.2} ms, \
             p95 {:.2} ms",
            ms(p50),
            ms(p95)
        );
    }
}
