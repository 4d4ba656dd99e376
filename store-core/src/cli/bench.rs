//! `store-core bench`: the performance figures, each beside the baseline it is judged against,
//! measured in one run on the same database (this machine is shared and noisy, so only ratios
//! taken side by side mean much).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::cli::generate::{GenerateOptions, generate};
use crate::cli::simulate::random_sale;
use deadpool_postgres::GenericClient;
use store_core::db::embedded::LocalServer;
use store_core::db::store::{Store, connect_one};
use store_core::db::target::ConnectSettings;
use store_core::domain::analytics::{self, Filter, Period, TrendBucket, dashboard_from_counters};
use store_core::domain::catalog::{Catalog, load_catalog, sample_customers};
use store_core::domain::checkout::{Sale, record_purchase};
use store_core::error::{Error, Result};
use store_core::seed::{PHASE_COPY_LINES, PHASE_COPY_PURCHASES, SeedOptions, seed};

#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// An existing server to benchmark on (a scratch database is created there and dropped);
    /// None: a throwaway server of our own.
    pub database_url: Option<String>,
    pub purchases: u64,
    /// Customers in the generated data (None: a third of the purchases).
    pub users: Option<u64>,
    /// Days of history in the generated data, ending yesterday.
    pub days: u32,
    pub tills: Vec<usize>,
    /// Seconds of measurement for each mode and tills count.
    pub seconds: f64,
    pub work_dir: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub scenario: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: f64,
    pub target: String,
    pub met: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub purchases: u64,
    pub figures: Vec<Figure>,
}

/// Where the benchmark runs: a throwaway server (stopped and removed when dropped) or scratch
/// databases on the server the user named.
struct Target {
    server: Option<ThrowawayServer>,
    admin: ConnectSettings,
    created: Vec<String>,
}

/// A server of the bench's own: on drop, however the bench ends (an error, a panic, its future
/// dropped on Ctrl-C), the server stops and its files go.
struct ThrowawayServer(LocalServer);

impl Drop for ThrowawayServer {
    fn drop(&mut self) {
        if let Err(e) = self.0.stop(true) {
            tracing::warn!("stopping the bench's server: {e}");
        }
        if let Err(e) = std::fs::remove_dir_all(self.0.home()) {
            tracing::warn!("removing {}: {e}", self.0.home().display());
        }
    }
}

impl Target {
    async fn new(database_url: Option<&str>) -> Result<Target> {
        match database_url {
            Some(url) => Ok(Target {
                server: None,
                admin: store_core::db::target::parse_connect_settings(url)?,
                created: Vec::new(),
            }),
            None => {
                let server = ThrowawayServer(LocalServer::in_temp_dir("icash-bench-")?);
                let admin = server.0.config("postgres").into();
                // The guard goes with the start: if this future is dropped meanwhile, the
                // blocking task still owns it and stops the server once it is up.
                let server =
                    tokio::task::spawn_blocking(move || server.0.ensure_started().map(|_| server))
                        .await
                        .map_err(|e| Error::Invalid(e.to_string()))??;
                Ok(Target {
                    admin,
                    server: Some(server),
                    created: Vec::new(),
                })
            }
        }
    }

    /// A new empty database with the schema, and a pool of `pool_size` on it.
    async fn database(&mut self, name: &str, pool_size: usize) -> Result<Store> {
        let admin = connect_one(&self.admin).await?;
        let name = format!("icash_bench_{}_{name}", std::process::id());
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        self.created.push(name.clone());
        let mut settings = self.admin.clone();
        settings.dbname(&name);
        let store = Store::from_settings(settings, name, pool_size)?;
        store.wait_until_reachable(Duration::from_secs(5)).await?;
        store_core::db::schema::migrate(&mut store.client().await?).await?;
        Ok(store)
    }

    async fn cleanup(self) {
        if let Ok(admin) = connect_one(&self.admin).await {
            for name in &self.created {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        }
        if let Some(server) = self.server {
            let _ = tokio::task::spawn_blocking(move || drop(server)).await;
        }
    }
}

/// Runs the bench until it is done or `stop` resolves (to the reason, such as a signal's
/// name); either way its scratch databases are dropped and its own server stopped and removed.
pub async fn run(
    options: &BenchOptions,
    mut progress: impl FnMut(&str),
    stop: impl std::future::Future<Output = &'static str>,
) -> Result<BenchReport> {
    let stopped = |reason: &str| {
        Error::Invalid(format!(
            "bench: stopped by {reason}, nothing measured (its databases are removed)"
        ))
    };
    tokio::pin!(stop);
    let mut target = tokio::select! {
        target = Target::new(options.database_url.as_deref()) => target?,
        reason = &mut stop => return Err(stopped(reason)),
    };
    if let Some(server) = &target.server {
        progress(&format!(
            "throwaway server in {}",
            server.0.home().display()
        ));
    }
    // Generated data goes in a directory of our own unless one is given; removed on drop.
    let own_work_dir = tempfile::Builder::new()
        .prefix("icash-bench-data-")
        .tempdir()
        .map_err(|e| Error::io("creating the bench's data directory", e))?;
    let work = options
        .work_dir
        .clone()
        .unwrap_or_else(|| own_work_dir.path().to_path_buf());
    let result = tokio::select! {
        result = run_on(&mut target, options, &work, &mut progress) => result,
        reason = &mut stop => Err(stopped(reason)),
    };
    target.cleanup().await;
    result
}

async fn run_on(
    target: &mut Target,
    options: &BenchOptions,
    work: &Path,
    progress: &mut impl FnMut(&str),
) -> Result<BenchReport> {
    let mut figures = Vec::new();

    progress(&format!("generating {} purchases", options.purchases));
    let large_dir = work.join(format!("p{}", options.purchases));
    write_data(&large_dir, options.purchases, options.users, options.days)?;
    let small_dir = work.join("p10000");
    write_data(&small_dir, 10_000, None, options.days.min(365))?;

    // 3. Seeding against a bare COPY of the same file into an unindexed table of text.
    progress("seeding: bare COPY of the file");
    let bare_store = target.database("copy", 1).await?;
    let bare = bare_copy(&bare_store, &large_dir.join("purchases.csv")).await?;
    progress("seeding: store-core seed");
    let large = target
        .database(
            "large",
            (PERIOD_TILLS + DASHBOARDS).max(*options.tills.iter().max().unwrap_or(&1)),
        )
        .await?;
    let started = Instant::now();
    let report = seed(
        &large,
        &SeedOptions::from_files(
            large_dir.join("products_list.csv"),
            large_dir.join("purchases.csv"),
        ),
    )
    .await?;
    let seeded = started.elapsed();
    let rate = |d: Duration| options.purchases as f64 / d.as_secs_f64();
    let ratio = rate(seeded) / rate(bare);
    // The rows alone, before any key, index or counter: the ratio could not exceed
    // bare / copies even if everything else were free.
    let copies: Duration = report
        .phases
        .iter()
        .filter(|(phase, _)| phase == PHASE_COPY_PURCHASES || phase == PHASE_COPY_LINES)
        .map(|(_, took)| *took)
        .sum();
    figures.push(Figure {
        scenario: format!("seed {} purchases", options.purchases),
        measured: format!(
            "{:.0} purchases/s ({:.1} s; its two COPYs alone {:.1} s, ratio at most {:.2})",
            rate(seeded),
            seeded.as_secs_f64(),
            copies.as_secs_f64(),
            bare.as_secs_f64() / copies.as_secs_f64()
        ),
        baseline: format!(
            "bare COPY {:.0} rows/s ({:.1} s)",
            rate(bare),
            bare.as_secs_f64()
        ),
        ratio,
        target: ">= 0.5".into(),
        met: ratio >= 0.5,
    });

    // 1. The dashboard at 10k purchases and at the full scale.
    progress("analytics: dashboard at 10k and at full scale");
    let small = target.database("small", 2).await?;
    seed(
        &small,
        &SeedOptions::from_files(
            small_dir.join("products_list.csv"),
            small_dir.join("purchases.csv"),
        ),
    )
    .await?;
    let small_time = dashboard_time(&small).await?;
    let large_time = dashboard_time(&large).await?;
    figures.push(dashboard_figure(
        "after seeding",
        options.purchases,
        small_time,
        large_time,
    ));

    // 2. Checkout against the bare insert, for each number of tills.
    let catalog = load_catalog(&large.client().await?).await?;
    let known = Arc::new(sample_customers(&large.client().await?, 1000).await?);
    for &tills in &options.tills {
        progress(&format!("checkout: {tills} tills"));
        let (real, bare) =
            checkout_side_by_side(&large, &catalog, &known, tills, options.seconds).await?;
        let ratio = real.per_second / bare.per_second;
        figures.push(Figure {
            scenario: format!("checkout, {tills} tills"),
            measured: format!(
                "{:.0} sales/s, p50 {:.2} ms, p99 {:.2} ms",
                real.per_second, real.p50_ms, real.p99_ms
            ),
            baseline: format!(
                "bare insert {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
                bare.per_second, bare.p50_ms, bare.p99_ms
            ),
            ratio,
            target: if tills == 16 {
                ">= 0.8".into()
            } else {
                "(reported)".into()
            },
            met: tills != 16 || ratio >= 0.8,
        });
    }

    // 5. The period views (today's sales are the checkouts' above), each beside the raw rows
    // (the program before the day-level counters read every period there).
    progress("analytics: period views, counters beside rows");
    figures.extend(period_figures(&large, options.purchases).await?);
    progress(&format!(
        "checkout: {PERIOD_TILLS} tills with {DASHBOARDS} dashboards on the last 30 days"
    ));
    figures.extend(checkout_with_dashboards(&large, &catalog, &known, options.seconds).await?);

    // 4. The HTTP API beside the library, on the same database.
    progress(&format!(
        "api: POST /cashier/create_purchase, {API_CLIENTS} clients"
    ));
    let api = ApiServer::start(&large).await?;
    let (http, library) =
        api_side_by_side(&api, &large, &catalog, &known, API_CLIENTS, options.seconds).await?;
    let ratio = http.per_second / library.per_second;
    figures.push(Figure {
        scenario: format!("API create_purchase, {API_CLIENTS} clients"),
        measured: format!(
            "{:.0} purchases/s, p50 {:.2} ms, p99 {:.2} ms",
            http.per_second, http.p50_ms, http.p99_ms
        ),
        baseline: format!(
            "library checkout {:.0}/s, p50 {:.2} ms, p99 {:.2} ms (seed system: {SEED_API_RATE}/s)",
            library.per_second, library.p50_ms, library.p99_ms
        ),
        ratio,
        target: format!("> {SEED_API_RATE}/s"),
        met: http.per_second > SEED_API_RATE as f64,
    });
    // The seed's analytics lists every loyal buyer; /v1's lists a page and counts the rest.
    let client = large.client().await?;
    for path in [
        "/dashboard/analytics?min_purchases=3",
        "/v1/analytics?min_purchases=3&loyal_limit=50",
    ] {
        progress(&format!("api: GET {path}"));
        let (endpoint, size) = endpoint_time(&api, path).await?;
        let (what, library) = if path.starts_with("/v1") {
            let t = library_time(|| dashboard_from_counters(&client, 3, 50)).await?;
            ("library analytics::dashboard", t)
        } else {
            let t = library_time(|| store_core::domain::analytics::report(&client, 3)).await?;
            ("library analytics::report", t)
        };
        figures.push(Figure {
            scenario: format!(
                "API {} at {} purchases",
                path.split('?').next().unwrap_or(path),
                options.purchases
            ),
            measured: format!(
                "median {:.2} ms, p99 {:.2} ms ({:.0} KiB an answer)",
                endpoint.median_ms,
                endpoint.p99_ms,
                size as f64 / 1024.0
            ),
            baseline: format!(
                "{what} median {:.2} ms, p99 {:.2} ms",
                library.median_ms, library.p99_ms
            ),
            ratio: endpoint.median_ms / library.median_ms,
            target: "(reported)".into(),
            met: true,
        });
    }
    drop(client);
    api.running
        .shut_down()
        .await
        .map_err(|e| Error::Invalid(format!("{e:#}")))?;

    // The counters after concurrent checkouts are spread over stripes: measure again.
    let small_time = dashboard_time(&small).await?;
    let large_time = dashboard_time(&large).await?;
    figures.push(dashboard_figure(
        "after checkouts",
        options.purchases,
        small_time,
        large_time,
    ));

    Ok(BenchReport {
        purchases: options.purchases,
        figures,
    })
}

/// `days` of history ending yesterday (UTC), so that "today" holds only the bench's own sales.
fn write_data(dir: &Path, purchases: u64, users: Option<u64>, days: u32) -> Result<()> {
    if dir.join("purchases.csv").exists() {
        return Ok(());
    }
    let today = chrono::Utc::now().date_naive();
    generate(&GenerateOptions {
        purchases,
        users: users.unwrap_or(purchases / 3).max(100),
        seed: 42,
        out: dir.to_path_buf(),
        start: today - chrono::Days::new(u64::from(days)),
        days,
    })?;
    Ok(())
}

/// Tills and open dashboards of the "checkout with dashboards" figure.
const PERIOD_TILLS: usize = 16;
const DASHBOARDS: usize = 3;
/// How soon after its previous refresh started the owner's screen may start the next while
/// sales come in: owner-tui's `refresh::gap_after`, four times the last refresh's cost, from
/// 250 ms to 1 s.
fn dashboard_gap(cost: Duration) -> Duration {
    (cost * 4).clamp(Duration::from_millis(250), Duration::from_secs(1))
}

fn period_filter(period: Period) -> Filter {
    Filter {
        period,
        ..Filter::default()
    }
}

/// One refresh of the owner's first screen for `filter`: the dashboard and its trend in one
/// snapshot (days for a range, hours for today), as owner-tui reads it.
async fn refresh(client: &impl GenericClient, filter: &Filter) -> Result<()> {
    let bucket = if filter.period == Period::Today {
        TrendBucket::Hour
    } else {
        TrendBucket::Day
    };
    analytics::dashboard_with_trend(client, filter, 3, 50, bucket).await?;
    Ok(())
}

/// The same figures from the raw rows, as the program before the day-level counters read every
/// period (the dashboard's four queries and the trend, prepared, in one snapshot).
async fn refresh_from_rows(client: &impl GenericClient, filter: &Filter) -> Result<()> {
    analytics::dashboard_from_rows(client, filter, 3, 50).await?;
    Ok(())
}

async fn period_figures(store: &Store, purchases: u64) -> Result<Vec<Figure>> {
    let client = store.client().await?;
    client.batch_execute("VACUUM ANALYZE purchase").await?;
    let mut figures = Vec::new();
    let everything = Filter::default();
    let all_time = library_time(|| refresh(&client, &everything)).await?;
    figures.push(Figure {
        scenario: format!("dashboard refresh, all time, at {purchases} purchases"),
        measured: format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            all_time.median_ms, all_time.p99_ms
        ),
        baseline: "(the counters, as before)".into(),
        ratio: 1.0,
        target: "unchanged".into(),
        met: true,
    });
    for (period, target_ms) in [(Period::Today, 5.0), (Period::Last30Days, 50.0)] {
        let filter = period_filter(period);
        let counters = library_time(|| refresh(&client, &filter)).await?;
        let rows = library_time(|| refresh_from_rows(&client, &filter)).await?;
        figures.push(Figure {
            scenario: format!(
                "dashboard refresh, {}, at {purchases} purchases",
                period.label()
            ),
            measured: format!(
                "day counters p50 {:.2} ms, p99 {:.2} ms",
                counters.median_ms, counters.p99_ms
            ),
            baseline: format!(
                "raw rows (before) p50 {:.2} ms, p99 {:.2} ms",
                rows.median_ms, rows.p99_ms
            ),
            ratio: counters.median_ms / rows.median_ms,
            target: format!("< {target_ms} ms"),
            met: counters.median_ms < target_ms,
        });
    }
    let now = chrono::Utc::now();
    let filter = period_filter(Period::Last30Days);
    let insights = library_time(|| analytics::insights(&client, &filter, now)).await?;
    figures.push(Figure {
        scenario: format!("insights, last 30 days, at {purchases} purchases"),
        measured: format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            insights.median_ms, insights.p99_ms
        ),
        baseline: "(new: summary with the previous 30 days, products, heat map, tills, cashiers)"
            .into(),
        ratio: 1.0,
        target: "(reported)".into(),
        met: true,
    });
    Ok(figures)
}

/// Checkout at [`PERIOD_TILLS`] tills alone, then with [`DASHBOARDS`] owners watching the last
/// 30 days (each starting its next refresh [`dashboard_gap`] after its previous one started), read from the
/// counters, and from the rows as before; alternating rounds so that each sees the same machine.
async fn checkout_with_dashboards(
    store: &Store,
    catalog: &Catalog,
    known: &Arc<Vec<uuid::Uuid>>,
    seconds: f64,
) -> Result<Vec<Figure>> {
    let round = Duration::try_from_secs_f64((seconds / 2.0).max(0.5))
        .map_err(|_| Error::Invalid(format!("bench: {seconds} s is not a usable duration")))?;
    #[derive(Clone, Copy, PartialEq)]
    enum Watching {
        Nobody,
        Counters,
        Rows,
    }
    let mut totals = [
        (0u64, Duration::ZERO, Vec::new()),
        (0, Duration::ZERO, Vec::new()),
        (0, Duration::ZERO, Vec::new()),
    ];
    let mut refreshes = [Vec::new(), Vec::new(), Vec::new()];
    for watching in [
        Watching::Nobody,
        Watching::Counters,
        Watching::Rows,
        Watching::Nobody,
        Watching::Counters,
        Watching::Rows,
    ] {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut owners = tokio::task::JoinSet::new();
        if watching != Watching::Nobody {
            for _ in 0..DASHBOARDS {
                let store = store.clone();
                let stop = stop.clone();
                owners.spawn(async move {
                    let client = store.client().await?;
                    let filter = period_filter(Period::Last30Days);
                    let mut took = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let t = Instant::now();
                        if watching == Watching::Counters {
                            refresh(&client, &filter).await?;
                        } else {
                            refresh_from_rows(&client, &filter).await?;
                        }
                        let cost = t.elapsed();
                        took.push(cost);
                        tokio::time::sleep(dashboard_gap(cost).saturating_sub(cost)).await;
                    }
                    Ok::<_, Error>(took)
                });
            }
        }
        let (count, elapsed, latencies) =
            run_round(store, catalog, known, PERIOD_TILLS, round, Mode::Checkout).await?;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let i = watching as usize;
        while let Some(joined) = owners.join_next().await {
            refreshes[i].extend(joined.map_err(|e| Error::Invalid(e.to_string()))??);
        }
        totals[i].0 += count;
        totals[i].1 += elapsed;
        totals[i].2.extend(latencies);
    }
    let [nobody, counters, rows] = totals;
    let (nobody, counters, rows) = (throughput(nobody), throughput(counters), throughput(rows));
    let [_, counter_refreshes, row_refreshes] = refreshes;
    let refresh_timing = |samples: Vec<Duration>| {
        if samples.is_empty() {
            "no refresh finished".to_string()
        } else {
            let t = timing(samples);
            format!("refresh p50 {:.1} ms, p99 {:.1} ms", t.median_ms, t.p99_ms)
        }
    };
    let ratio = counters.per_second / nobody.per_second;
    Ok(vec![
        Figure {
            scenario: format!(
                "checkout, {PERIOD_TILLS} tills, {DASHBOARDS} dashboards on the last 30 days"
            ),
            measured: format!(
                "{:.0} sales/s, p50 {:.2} ms, p99 {:.2} ms (day counters; {})",
                counters.per_second,
                counters.p50_ms,
                counters.p99_ms,
                refresh_timing(counter_refreshes)
            ),
            baseline: format!(
                "no dashboard {:.0} sales/s, p50 {:.2} ms, p99 {:.2} ms",
                nobody.per_second, nobody.p50_ms, nobody.p99_ms
            ),
            ratio,
            target: ">= 0.9".into(),
            met: ratio >= 0.9,
        },
        Figure {
            scenario: format!(
                "checkout, {PERIOD_TILLS} tills, {DASHBOARDS} dashboards on the last 30 days from rows (before)"
            ),
            measured: format!(
                "{:.0} sales/s, p50 {:.2} ms, p99 {:.2} ms ({})",
                rows.per_second,
                rows.p50_ms,
                rows.p99_ms,
                refresh_timing(row_refreshes)
            ),
            baseline: format!("no dashboard {:.0} sales/s", nobody.per_second),
            ratio: rows.per_second / nobody.per_second,
            target: "(reported)".into(),
            met: true,
        },
    ])
}

const BARE_TABLE: &str = "CREATE UNLOGGED TABLE bare_purchases (supermarket_id text, \"timestamp\" text, \
     user_id text, items_list text, total_amount text)";
const BARE_COPY: &str = "COPY bare_purchases FROM STDIN (FORMAT csv, HEADER true)";

/// What psql's `\copy` does: the file's bytes streamed into COPY FROM STDIN.
async fn bare_copy(store: &Store, file: &Path) -> Result<Duration> {
    let client = store.client().await?;
    client.batch_execute(BARE_TABLE).await?;
    let started = Instant::now();
    let sink = client.copy_in(BARE_COPY).await?;
    futures_util::pin_mut!(sink);
    let mut reader = tokio::fs::File::open(file)
        .await
        .map_err(|e| Error::io(format!("opening {}", file.display()), e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        use tokio::io::AsyncReadExt;
        let n = reader
            .read(&mut buf)
            .await
            .map_err(|e| Error::io("reading", e))?;
        if n == 0 {
            break;
        }
        sink.send(bytes::Bytes::copy_from_slice(&buf[..n])).await?;
    }
    sink.finish().await?;
    Ok(started.elapsed())
}

#[derive(Clone, Copy, Debug)]
struct Timing {
    median_ms: f64,
    p99_ms: f64,
}

/// The full dashboard refresh: unique buyers, loyal count and first page, top products with
/// ties, revenue per branch.
async fn dashboard_time(store: &Store) -> Result<Timing> {
    let client = store.client().await?;
    for _ in 0..20 {
        dashboard_from_counters(&client, 3, 50).await?;
    }
    let mut samples = Vec::with_capacity(300);
    for _ in 0..300 {
        let started = Instant::now();
        dashboard_from_counters(&client, 3, 50).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok(Timing {
        median_ms: ms(samples[samples.len() / 2]),
        p99_ms: ms(samples[samples.len() * 99 / 100]),
    })
}

fn dashboard_figure(when: &str, purchases: u64, small: Timing, large: Timing) -> Figure {
    let ratio = large.median_ms / small.median_ms;
    Figure {
        scenario: format!("dashboard refresh at {purchases} purchases, {when}"),
        measured: format!(
            "median {:.2} ms, p99 {:.2} ms",
            large.median_ms, large.p99_ms
        ),
        baseline: format!(
            "at 10000 purchases: median {:.2} ms, p99 {:.2} ms",
            small.median_ms, small.p99_ms
        ),
        ratio,
        target: "< 5 ms and <= 2.0".into(),
        met: large.median_ms < 5.0 && ratio <= 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Clone, Copy, Debug)]
pub struct Throughput {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The ceiling: the same purchase and its lines (sale key included, so that both write the same
/// rows and index entries) by one plain INSERT statement, with no validation, no idempotency
/// check, no counters and no notification.
const BARE_INSERT: &str = "WITH p AS ( \
       INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount, sale_key) \
       VALUES ($1, now(), $2, $3, $6) RETURNING id) \
     INSERT INTO purchase_product (purchase_id, product_id, unit_price) \
     SELECT p.id, l.id, l.price FROM p, unnest($4::int4[], $5::numeric[]) AS l (id, price)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Checkout,
    BareInsert,
}

/// Sales per second through the real checkout path and through the bare insert, `tills` at
/// once, in alternating rounds of `seconds / 2` (returned in that order: real, bare).
pub async fn checkout_side_by_side(
    store: &Store,
    catalog: &Catalog,
    known: &Arc<Vec<uuid::Uuid>>,
    tills: usize,
    seconds: f64,
) -> Result<(Throughput, Throughput)> {
    // Alternate short rounds so that both modes see the same machine.
    let round = Duration::try_from_secs_f64((seconds / 2.0).max(0.5))
        .map_err(|_| Error::Invalid(format!("bench: {seconds} s is not a usable duration")))?;
    let mut real = (0u64, Duration::ZERO, Vec::new());
    let mut bare = (0u64, Duration::ZERO, Vec::new());
    for mode in [
        Mode::BareInsert,
        Mode::Checkout,
        Mode::BareInsert,
        Mode::Checkout,
    ] {
        let (count, elapsed, latencies) =
            run_round(store, catalog, known, tills, round, mode).await?;
        let acc = if mode == Mode::Checkout {
            &mut real
        } else {
            &mut bare
        };
        acc.0 += count;
        acc.1 += elapsed;
        acc.2.extend(latencies);
    }
    Ok((throughput(real), throughput(bare)))
}

fn throughput((count, elapsed, mut latencies): (u64, Duration, Vec<Duration>)) -> Throughput {
    latencies.sort();
    let at = |q: usize| {
        latencies
            .get(latencies.len() * q / 100)
            .map(|d| ms(*d))
            .unwrap_or(0.0)
    };
    Throughput {
        per_second: count as f64 / elapsed.as_secs_f64(),
        p50_ms: at(50),
        p99_ms: at(99),
    }
}

async fn run_round(
    store: &Store,
    catalog: &Catalog,
    known: &Arc<Vec<uuid::Uuid>>,
    tills: usize,
    length: Duration,
    mode: Mode,
) -> Result<(u64, Duration, Vec<Duration>)> {
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = tokio::task::JoinSet::new();
    for till in 0..tills {
        let store = store.clone();
        let catalog = catalog.clone();
        let known = known.clone();
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(till as u64);
            let branch = catalog.branches[till % catalog.branches.len()].id.clone();
            let client = store.client().await?;
            let bare = client.prepare_cached(BARE_INSERT).await?;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.6);
                let t = Instant::now();
                match mode {
                    Mode::Checkout => {
                        record_purchase(&client, &sale).await?;
                    }
                    Mode::BareInsert => {
                        let (ids, prices) = lines(&catalog, &sale);
                        let total: Decimal = prices.iter().copied().sum();
                        client
                            .execute(
                                &bare,
                                &[
                                    &sale.supermarket_id,
                                    &sale.customer.user_id(),
                                    &total,
                                    &ids,
                                    &prices,
                                    &sale.sale_key,
                                ],
                            )
                            .await?;
                    }
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.map_err(|e| Error::Invalid(e.to_string()))??);
    }
    Ok((all.len() as u64, started.elapsed(), all))
}

fn lines(catalog: &Catalog, sale: &Sale) -> (Vec<i32>, Vec<Decimal>) {
    sale.product_ids
        .iter()
        .filter_map(|id| catalog.product(*id))
        .map(|p| (p.id, p.unit_price))
        .unzip()
}

/// What the seed system's API did on this machine (purchases/s through its create_purchase).
const SEED_API_RATE: u32 = 568;
/// Concurrent HTTP clients for the API figure.
const API_CLIENTS: usize = 16;
const BENCH_TOKEN: &str = "bench-token";

/// `store-core serve` in this process, on a free port of 127.0.0.1.
struct ApiServer {
    running: crate::serve::Running,
    http: reqwest::Client,
    base: String,
}

impl ApiServer {
    async fn start(store: &Store) -> Result<ApiServer> {
        let options = crate::serve::ServeOptions {
            owner_store: None,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            access: crate::serve::auth::Access::new(
                Some(BENCH_TOKEN.into()),
                Some(BENCH_TOKEN.into()),
                vec![],
            ),
            tls: None,
            min_purchases: 3,
            zone: store_core::domain::time_zone::Tz::UTC,
        };
        let running = crate::serve::start(store.clone(), options)
            .await
            .map_err(|e| Error::Invalid(format!("bench: starting the API: {e:#}")))?;
        let base = format!("http://{}", running.address);
        // reqwest's rustls comes without a crypto provider (the bench speaks plain HTTP, but
        // the client is built with TLS support all the same).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Invalid(format!("bench: an HTTP client: {e}")))?;
        Ok(ApiServer {
            running,
            http,
            base,
        })
    }
}

fn http_error(e: reqwest::Error) -> Error {
    Error::Invalid(format!("bench: the API: {e}"))
}

/// Purchases per second through `POST /cashier/create_purchase` and through the library's
/// checkout, `clients` at once, in alternating rounds (returned in that order: API, library).
async fn api_side_by_side(
    api: &ApiServer,
    store: &Store,
    catalog: &Catalog,
    known: &Arc<Vec<uuid::Uuid>>,
    clients: usize,
    seconds: f64,
) -> Result<(Throughput, Throughput)> {
    let round = Duration::try_from_secs_f64((seconds / 2.0).max(0.5))
        .map_err(|_| Error::Invalid(format!("bench: {seconds} s is not a usable duration")))?;
    let mut http = (0u64, Duration::ZERO, Vec::new());
    let mut library = (0u64, Duration::ZERO, Vec::new());
    for through_api in [true, false, true, false] {
        let (count, elapsed, latencies) = if through_api {
            api_round(api, catalog, known, clients, round).await?
        } else {
            run_round(store, catalog, known, clients, round, Mode::Checkout).await?
        };
        let acc = if through_api { &mut http } else { &mut library };
        acc.0 += count;
        acc.1 += elapsed;
        acc.2.extend(latencies);
    }
    Ok((throughput(http), throughput(library)))
}

async fn api_round(
    api: &ApiServer,
    catalog: &Catalog,
    known: &Arc<Vec<uuid::Uuid>>,
    clients: usize,
    length: Duration,
) -> Result<(u64, Duration, Vec<Duration>)> {
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = tokio::task::JoinSet::new();
    let url = format!("{}/cashier/create_purchase", api.base);
    for client in 0..clients {
        let (http, url, catalog, known) = (
            api.http.clone(),
            url.clone(),
            catalog.clone(),
            known.clone(),
        );
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(1000 + client as u64);
            let branch = catalog.branches[client % catalog.branches.len()].id.clone();
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sale = random_sale(&mut rng, &catalog, &branch, &known, 0.6);
                let (_, prices) = lines(&catalog, &sale);
                let total: Decimal = prices.iter().copied().sum();
                let body = serde_json::json!({
                    "supermarket_id": sale.supermarket_id,
                    "user_id": sale.customer.user_id(),
                    "items_list": sale.product_ids,
                    "total_amount": total.to_string(),
                });
                let t = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(BENCH_TOKEN)
                    .json(&body)
                    .send()
                    .await
                    .map_err(http_error)?;
                if response.status() != reqwest::StatusCode::CREATED {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    return Err(Error::Invalid(format!(
                        "bench: create_purchase answered {status}: {text}"
                    )));
                }
                latencies.push(t.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.map_err(|e| Error::Invalid(e.to_string()))??);
    }
    Ok((all.len() as u64, started.elapsed(), all))
}

/// `GET path` with the owner's token, `ANALYTICS_SAMPLES` times after a few warm-up calls:
/// the latencies and the size of the last answer.
async fn endpoint_time(api: &ApiServer, path: &str) -> Result<(Timing, usize)> {
    let url = format!("{}{path}", api.base);
    let mut samples = Vec::with_capacity(ANALYTICS_SAMPLES);
    let mut size = 0;
    for i in 0..ANALYTICS_SAMPLES + 3 {
        let t = Instant::now();
        let response = api
            .http
            .get(&url)
            .bearer_auth(BENCH_TOKEN)
            .send()
            .await
            .map_err(http_error)?;
        let status = response.status();
        size = response.bytes().await.map_err(http_error)?.len();
        if !status.is_success() {
            return Err(Error::Invalid(format!("bench: {path} answered {status}")));
        }
        if i >= 3 {
            samples.push(t.elapsed());
        }
    }
    Ok((timing(samples), size))
}

const ANALYTICS_SAMPLES: usize = 40;

/// The same reads through the library, without HTTP and JSON.
async fn library_time<F, Fut, T>(mut read: F) -> Result<Timing>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut samples = Vec::with_capacity(ANALYTICS_SAMPLES);
    for i in 0..ANALYTICS_SAMPLES + 3 {
        let t = Instant::now();
        read().await?;
        if i >= 3 {
            samples.push(t.elapsed());
        }
    }
    Ok(timing(samples))
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    Timing {
        median_ms: ms(samples[samples.len() / 2]),
        p99_ms: ms(samples[samples.len() * 99 / 100]),
    }
}
