//! The `store-core` command line: database management, seeding, checkout and analytics from
//! the shell, with `--json` output for scripts.

mod cli;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{CommandFactory, Parser};
use rust_decimal::Decimal;
use uuid::Uuid;

use cli::NEW_CUSTOMER_FROM_SALE_KEY;
use cli::args::{Cli, Command, DbAction, MANUAL};
use cli::generate::{self, GenerateOptions};
use cli::simulate::{self, SimulateOptions, SimulateStats};
use icash_cli::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use store_core::db::bootstrap;
use store_core::db::embedded::{DATABASE_NAME, LocalServer, ServerStatus};
use store_core::db::target::DbTarget;
use store_core::domain::analytics;
use store_core::domain::catalog::{self, Catalog};
use store_core::domain::checkout::{self, CustomerChoice, Sale};
use store_core::domain::input;
use store_core::domain::time_zone;
use store_core::import::CsvSource;
use store_core::paths::icash_home;
use store_core::seed::{self, SeedOptions};
use store_core::settings::{DEFAULT_MIN_PURCHASES, FileConfig, Given, Settings};
use store_core::startup::{self, DemoData};
use store_core::{ConnectOptions, Store};

fn main() -> ExitCode {
    icash_cli::logging::init_stderr_logging();
    // Printing into a closed pipe (`store-core analytics | head`) ends the program quietly.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let mut cli = Cli::parse();
    // Only the commands that use a database or a loyalty threshold read the configuration
    // file: `man`, `generate` or `db status` work whatever the file holds.
    let uses_settings =
        cli.command.database_url().is_some() || matches!(cli.command, Command::Analytics { .. });
    if uses_settings && let Err(status) = apply_settings(&mut cli) {
        return status.into();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => match e.downcast_ref::<StatusExit>() {
            Some(exit) => exit.status.into(),
            None => {
                eprintln!("error: {e:#}");
                ExitStatus::Failure.into()
            }
        },
    }
}

/// Flags, then environment variables (clap), then the configuration file, then defaults,
/// written back into the command; the database's connection string checked once here (a
/// malformed one is a usage error, or names the file that gave it).
fn apply_settings(cli: &mut Cli) -> Result<(), ExitStatus> {
    let given = Given {
        database_url: cli.command.database_url().and_then(|url| url.clone()),
        min_purchases: match &cli.command {
            Command::Analytics { min_purchases, .. } | Command::Serve { min_purchases, .. } => {
                *min_purchases
            }
            _ => None,
        },
        timezone: match &cli.command {
            Command::Seed { zone, .. }
            | Command::Serve { zone, .. }
            | Command::Analytics { zone, .. } => zone.timezone.clone(),
            Command::Report {
                action: cli::report::ReportAction::Shift { zone, .. },
            } => zone.timezone.clone(),
            _ => None,
        },
        ..Given::default()
    };
    let settings = Settings::load(given).map_err(|e| {
        eprintln!("error: {e}");
        ExitStatus::Failure
    })?;
    if let Some(database_url) = cli.command.database_url() {
        if let Err(e) = settings.db_target() {
            eprintln!("error: {e}");
            return Err(match e {
                store_core::Error::BadDatabaseUrl(_) => ExitStatus::Usage,
                _ => ExitStatus::Failure,
            });
        }
        database_url.clone_from(&settings.database_url);
    }
    match &mut cli.command {
        Command::Analytics {
            min_purchases,
            zone,
            ..
        } => {
            *min_purchases = Some(settings.min_purchases);
            zone.timezone = Some(settings.timezone.name().to_string());
        }
        Command::Serve {
            min_purchases,
            zone,
            ..
        } => {
            *min_purchases = Some(settings.min_purchases);
            zone.timezone = Some(settings.timezone.name().to_string());
        }
        Command::Seed { zone, .. } => zone.timezone = Some(settings.timezone.name().to_string()),
        Command::Report { action } => {
            action.zone().timezone = Some(settings.timezone.name().to_string());
        }
        _ => {}
    }
    Ok(())
}

/// An exit status that is an answer, not an error (`db status`): nothing more is printed.
#[derive(Debug, thiserror::Error)]
#[error("exit status {status:?}")]
struct StatusExit {
    status: ExitStatus,
}

async fn connect(database_url: &Option<String>, wait: Duration) -> anyhow::Result<Store> {
    Ok(startup::open(&ConnectOptions {
        database_url: database_url.clone(),
        wait,
        application_name: "store-core".into(),
        ..ConnectOptions::default()
    })
    .await?)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Db { action } => db(action).await,
        Command::Journal { action } => cli::journal::run(action).await,
        Command::Branch { action } => cli::catalog::run_branch(action).await,
        Command::Product { action } => cli::catalog::run_product(action).await,
        Command::Cashier { action } => cli::cashier::run(action).await,
        Command::Report { action } => cli::report::run(action).await,
        Command::Migrate { database, wait } => {
            let options = ConnectOptions {
                database_url: database.database_url,
                wait: Duration::from_secs(wait),
                ..ConnectOptions::default()
            };
            // The embedded default is started (and created) first; no demo data here.
            let target = DbTarget::resolve(options.database_url.as_deref())?;
            let _bootstrapped = match &target {
                DbTarget::Embedded(home) => Some(bootstrap::bootstrap(home).await?),
                DbTarget::Server(_) => None,
            };
            let store = Store::connect_to(&target, &options).await?;
            let mut client = store.client().await?;
            let applied = store_core::db::schema::migrate(&mut client).await?;
            if applied.is_empty() {
                println!(
                    "schema version {}: already in place, nothing applied",
                    store_core::db::schema::SCHEMA_VERSION
                );
            } else {
                println!(
                    "schema version {}: applied {}",
                    store_core::db::schema::SCHEMA_VERSION,
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::Seed {
            database,
            zone,
            products,
            purchases,
            reset,
            wait,
            json,
        } => {
            let store = startup::open_with(
                &ConnectOptions {
                    database_url: database.database_url,
                    wait: Duration::from_secs(wait),
                    ..ConnectOptions::default()
                },
                DemoData::Never,
            )
            .await?;
            let demo = SeedOptions::demo();
            let source = |given: Option<PathBuf>, default: &str, builtin: CsvSource| match given {
                Some(path) => CsvSource::Path(path),
                None if std::path::Path::new(default).exists() => CsvSource::Path(default.into()),
                None => builtin,
            };
            let mut options = SeedOptions {
                products: source(products, "data/products_list.csv", demo.products),
                purchases: source(purchases, "data/purchases.csv", demo.purchases),
                reset: false,
                progress: false,
                zone: match zone.timezone.as_deref() {
                    Some(name) => time_zone::parse(name).map_err(anyhow::Error::msg)?,
                    None => time_zone::machine_zone(),
                },
            };
            options.reset = reset;
            options.progress = !json;
            let started = std::time::Instant::now();
            let report = seed::seed(&store, &options).await?;
            if catalog::load_catalog(&store.client().await?)
                .await?
                .branches
                .is_empty()
            {
                eprintln!(
                    "warning: the database has no branch, so no till can sell: add one with \
                     `store-core branch add ID --name NAME`"
                );
            }
            if json {
                return print_json(&report);
            }
            if report.loaded {
                println!(
                    "seeded {} purchases ({} items) in {} branches with {} products in {:.1} s",
                    report.purchases,
                    report.items,
                    report.branches,
                    report.products,
                    started.elapsed().as_secs_f64()
                );
            } else {
                println!(
                    "the database already holds purchases: nothing loaded (use --reset to replace them)"
                );
            }
            Ok(())
        }
        Command::Generate {
            purchases,
            users,
            seed,
            out,
            start,
            days,
        } => {
            let report = generate::generate(&GenerateOptions {
                purchases,
                users,
                seed,
                out,
                start,
                days,
            })?;
            println!(
                "wrote {} and {} ({} purchases)",
                report.products_file.display(),
                report.purchases_file.display(),
                report.purchases
            );
            Ok(())
        }
        Command::Purchase {
            database,
            supermarket,
            user,
            items,
            expected_total,
            sale_key,
            json,
        } => {
            let store = connect(&database.database_url, Duration::ZERO).await?;
            let catalog = catalog::load_catalog(&store.client().await?).await?;
            let sale = build_sale(
                &catalog,
                supermarket,
                &user,
                &items,
                expected_total,
                sale_key,
            )?;
            let receipt = checkout::submit(&store, &sale).await?;
            if json {
                return print_json(&receipt);
            }
            println!(
                "purchase {}{} at {} for customer {}{}",
                receipt.purchase_id,
                if receipt.replayed {
                    " (already recorded)"
                } else {
                    ""
                },
                receipt.supermarket_id,
                receipt.user_id,
                if receipt.new_customer { " (new)" } else { "" }
            );
            for line in &receipt.lines {
                println!(
                    "  {:<16} {:>8}",
                    input::printable(&line.name),
                    line.unit_price
                );
            }
            println!("  {:<16} {:>8}", "TOTAL", receipt.total_amount);
            Ok(())
        }
        Command::Analytics {
            database,
            min_purchases,
            json,
            branch,
            from,
            to,
            zone,
        } => {
            let zone = match zone.timezone.as_deref() {
                Some(name) => time_zone::parse(name).map_err(anyhow::Error::msg)?,
                None => time_zone::machine_zone(),
            };
            let period = match (&from, &to) {
                (None, _) => analytics::Period::AllTime,
                (Some(from), to) => {
                    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
                    let to = to.clone().unwrap_or_else(|| today.to_string());
                    analytics::Period::parse_range(from, &to).map_err(anyhow::Error::msg)?
                }
            };
            let branch = match branch.as_deref() {
                None => None,
                Some(text) => Some(
                    input::branch_id(text)
                        .map_err(|m| anyhow!("--branch: {m}"))?
                        .to_string(),
                ),
            };
            let store = connect(&database.database_url, Duration::ZERO).await?;
            let client = store.client().await?;
            if let Some(id) = &branch {
                let known = catalog::load_catalog(&client).await?;
                if !known.has_branch(id) {
                    bail!("--branch: unknown branch {}", input::quote(id));
                }
            }
            let filter = analytics::Filter {
                supermarket_id: branch,
                period,
                zone,
            };
            let min_purchases = min_purchases.unwrap_or(DEFAULT_MIN_PURCHASES);
            let report = analytics::report_for(&client, &filter, min_purchases).await?;
            if json {
                return print_json(&report);
            }
            println!("unique buyers: {}", report.unique_buyers);
            println!(
                "loyal buyers (>= {} purchases): {}",
                report.min_purchases,
                report.loyal_buyers.len()
            );
            for b in &report.loyal_buyers {
                println!("  {}  {}", b.user_id, b.purchases);
            }
            println!("top products (by units, ties included):");
            for p in &report.top_products {
                println!(
                    "  {}. {:<16} {}",
                    p.rank,
                    input::printable(&p.name),
                    p.units
                );
            }
            Ok(())
        }
        Command::Simulate {
            database,
            rate,
            tills,
            returning,
        } => {
            let store = connect(&database.database_url, Duration::ZERO).await?;
            let stats = Arc::new(SimulateStats::default());
            let options = SimulateOptions {
                rate,
                tills: tills as usize,
                returning_share: returning.clamp(0.0, 1.0),
            };
            let printer = tokio::spawn(print_simulation(stats.clone()));
            println!(
                "simulating {tills} tills at {rate} sales/s on {} (Ctrl-C stops)",
                store.describe()
            );
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            simulate::simulate(&store, &options, stats.clone(), stop).await?;
            printer.abort();
            println!(
                "stopped: {} sales recorded, {} failed",
                stats.recorded.load(Ordering::Relaxed),
                stats.failed.load(Ordering::Relaxed)
            );
            Ok(())
        }
        Command::Bench {
            database,
            purchases,
            users,
            days,
            tills,
            seconds,
            json,
        } => {
            let options = cli::bench::BenchOptions {
                database_url: database.database_url,
                purchases,
                users,
                days,
                tills: tills.into_iter().map(usize::from).collect(),
                seconds,
                work_dir: None,
            };
            let report =
                cli::bench::run(&options, |step| eprintln!("bench: {step}"), interrupted()).await?;
            if json {
                return print_json(&report);
            }
            println!(
                "{:<48} {:<44} {:<44} {:>6}  target",
                "scenario", "measured", "baseline", "ratio"
            );
            for f in &report.figures {
                println!(
                    "{:<48} {:<44} {:<44} {:>6.2}  {} {}",
                    f.scenario,
                    f.measured,
                    f.baseline,
                    f.ratio,
                    f.target,
                    if f.met { "met" } else { "NOT MET" }
                );
            }
            Ok(())
        }
        Command::Fold { database, every } => {
            let store = startup::open(&ConnectOptions {
                database_url: database.database_url.clone(),
                application_name: "store-core".into(),
                primary_only: true,
                ..ConnectOptions::default()
            })
            .await?;
            let Some(every) = every else {
                let folded = analytics::fold(&store.client().await?).await?;
                println!("folded {folded} queued sales");
                return Ok(());
            };
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = tokio::signal::ctrl_c() => return Ok(()),
                }
                // A failover or a restart passes: the next round connects again.
                let round = async {
                    let client = store.client().await?;
                    let folded = analytics::fold(&client).await;
                    if let Err(store_core::Error::Db(e)) = &folded
                        && (store_core::error::is_read_only_server(e)
                            || store_core::error::is_connection_error(e))
                    {
                        store.discard(client);
                    }
                    folded
                };
                match round.await {
                    Ok(0) => {}
                    Ok(folded) => println!("folded {folded} queued sales"),
                    Err(e) => eprintln!("folding failed, trying again in {every:?}: {e:#}"),
                }
            }
        }
        Command::Roles {
            database,
            clerk_password,
            owner_password,
            manager_password,
        } => {
            let store = connect(&database.database_url, Duration::ZERO).await?;
            let passwords = store_core::db::roles::RolePasswords {
                clerk: clerk_password.as_deref(),
                owner: owner_password.as_deref(),
                manager: manager_password.as_deref(),
            };
            store_core::db::roles::create_roles(&store.client().await?, passwords).await?;
            println!(
                "roles ready: {} (catalog, customers, record_purchase), {} (read only) and {} \
                 (catalog and cashier changes)",
                store_core::db::roles::CLERK_ROLE,
                store_core::db::roles::OWNER_ROLE,
                store_core::db::roles::MANAGER_ROLE
            );
            Ok(())
        }
        Command::Completions { shell } => {
            icash_cli::docs::print_completions(Cli::command(), shell);
            Ok(())
        }
        Command::Man { dir: None } => Ok(icash_cli::docs::print_man_page(Cli::command(), &MANUAL)?),
        Command::Man { dir: Some(dir) } => {
            let written = icash_cli::docs::write_man_pages(Cli::command(), &MANUAL, &dir)
                .with_context(|| format!("writing the man pages into {}", dir.display()))?;
            println!("wrote {} man pages into {}", written.len(), dir.display());
            Ok(())
        }
        Command::Serve {
            database,
            zone,
            owner_database_url,
            listen,
            open,
            tls_cert,
            tls_key,
            min_purchases,
            wait,
        } => {
            let file = FileConfig::load_from(&store_core::paths::config_file_path()?)?
                .api
                .unwrap_or_default();
            let listen = match (listen, &file.listen) {
                (Some(listen), _) => listen,
                (None, Some(text)) => text.parse().map_err(|e| {
                    anyhow!("the config file's [api] listen = {text:?}: {e} (want HOST:PORT)")
                })?,
                (None, None) => serve::DEFAULT_LISTEN.parse()?,
            };
            let token = |variable: &str, from_file: &Option<String>| {
                std::env::var(variable)
                    .ok()
                    .filter(|t| !t.is_empty())
                    .or_else(|| from_file.clone())
            };
            let access = serve::auth::Access::new(
                token("ICASH_API_CLERK_TOKEN", &file.clerk_token),
                token("ICASH_API_OWNER_TOKEN", &file.owner_token),
                open,
            );
            if access.tokens_are_shared() {
                anyhow::bail!(
                    "the clerk's and the owner's tokens are the same (ICASH_API_CLERK_TOKEN, \
                     ICASH_API_OWNER_TOKEN or the config file's [api] clerk_token and owner_token): \
                     either would open both roles; give each role its own token"
                );
            }
            let tls = match (tls_cert.or(file.tls_cert), tls_key.or(file.tls_key)) {
                (Some(cert), Some(key)) => Some(serve::TlsFiles { cert, key }),
                (None, None) => None,
                _ => bail!("a TLS certificate needs its key and a key its certificate"),
            };
            let open_store = |database_url: Option<String>| {
                let options = ConnectOptions {
                    database_url,
                    wait: Duration::from_secs(wait),
                    max_size: serve::POOL_SIZE,
                    application_name: "store-core serve".into(),
                    ..ConnectOptions::default()
                };
                async move {
                    let store = startup::open(&options).await?;
                    Ok::<_, anyhow::Error>(serve::with_statement_timeout(&store)?)
                }
            };
            let store = open_store(database.database_url).await?;
            let owner_store = match owner_database_url.filter(|url| !url.trim().is_empty()) {
                Some(url) => Some(
                    open_store(Some(url))
                        .await
                        .context("--owner-database-url")?,
                ),
                None => None,
            };
            let options = serve::ServeOptions {
                owner_store,
                listen,
                access,
                tls,
                min_purchases: min_purchases.unwrap_or(DEFAULT_MIN_PURCHASES),
                zone: match zone.timezone.as_deref() {
                    Some(name) => time_zone::parse(name).map_err(anyhow::Error::msg)?,
                    None => time_zone::machine_zone(),
                },
            };
            serve::run(store, options, interrupted()).await
        }
        Command::Catalog { database, json } => {
            let store = connect(&database.database_url, Duration::ZERO).await?;
            let catalog = catalog::load_catalog(&store.client().await?).await?;
            if json {
                return print_json(&catalog);
            }
            println!(
                "branches: {}",
                catalog
                    .branches
                    .iter()
                    .map(|b| input::printable(&b.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("products:");
            for p in &catalog.products {
                println!(
                    "  {:>3}  {:<16} {:>8}",
                    p.id,
                    input::printable(&p.name),
                    p.unit_price
                );
            }
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C (SIGINT), SIGTERM or SIGHUP, with the signal's name.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return "SIGINT";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hangup.recv() => "SIGHUP",
    }
}

async fn print_simulation(stats: Arc<SimulateStats>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    let mut previous = 0;
    loop {
        ticks.tick().await;
        let recorded = stats.recorded.load(Ordering::Relaxed);
        let last = stats.last.lock().await.clone().unwrap_or_default();
        println!(
            "{}  +{} sales (total {recorded}, {} failed)  last: {last}",
            chrono::Local::now().format("%H:%M:%S"),
            recorded - previous,
            stats.failed.load(Ordering::Relaxed)
        );
        previous = recorded;
    }
}

fn build_sale(
    catalog: &Catalog,
    supermarket: String,
    user: &str,
    items: &[String],
    expected_total: Option<Decimal>,
    sale_key: Option<Uuid>,
) -> anyhow::Result<Sale> {
    let customer = if user.eq_ignore_ascii_case("new") {
        match sale_key {
            // The new customer's id follows from the sale key, so that running the same
            // command again is a replay of the sale, not another sale under the same key.
            Some(key) => {
                CustomerChoice::New(Uuid::new_v5(&NEW_CUSTOMER_FROM_SALE_KEY, key.as_bytes()))
            }
            None => CustomerChoice::new_customer(),
        }
    } else {
        CustomerChoice::Returning(Uuid::try_parse(user.trim()).with_context(|| {
            format!("--user: {} is neither `new` nor a UUID", input::quote(user))
        })?)
    };
    // Branch ids and product names are matched as the seeder matches them (store_core::domain::input).
    let supermarket = input::branch_id(&supermarket).map_err(|m| anyhow!("--supermarket: {m}"))?;
    if !catalog.has_branch(supermarket) {
        bail!(
            "--supermarket: unknown branch {} (known: {}; branch ids are matched exactly)",
            input::quote(supermarket),
            catalog
                .branches
                .iter()
                .map(|b| input::printable(&b.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut sale = Sale::open(supermarket, customer);
    if let Some(key) = sale_key {
        sale.sale_key = key;
    }
    for item in items {
        if item.trim().is_empty() {
            bail!("--items: an empty product name in the list");
        }
        match catalog.find_product(item) {
            Some(p) => sale.product_ids.push(p.id),
            None => bail!(
                "--items: unknown product {} (known: {})",
                input::quote(item.trim()),
                catalog
                    .products
                    .iter()
                    .map(|p| input::printable(&p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    sale.expected_total = expected_total;
    Ok(sale)
}

async fn db(action: DbAction) -> anyhow::Result<()> {
    let server = LocalServer::new(icash_home()?)?;
    match action {
        DbAction::Status => {
            let status = server.status()?;
            println!("embedded database: {status}");
            println!("  home:   {}", server.home().display());
            println!("  server: {}", server.bindir().display());
            if status == ServerStatus::Running {
                println!("  url:    {}", server.url(DATABASE_NAME));
            }
            let status = match status {
                ServerStatus::Running => return Ok(()),
                ServerStatus::Stopped => ExitStatus::ServerStopped,
                ServerStatus::NotCreated => ExitStatus::ServerNotCreated,
            };
            return Err(StatusExit { status }.into());
        }
        DbAction::Start => {
            startup::open(&ConnectOptions {
                database_url: None,
                ..ConnectOptions::default()
            })
            .await?;
            println!("embedded database running: {}", server.url(DATABASE_NAME));
        }
        DbAction::Stop => {
            let stopped = tokio::task::spawn_blocking(move || server.stop(false)).await??;
            println!(
                "{}",
                if stopped {
                    "stopped"
                } else {
                    "it was not running"
                }
            );
        }
        DbAction::Url => match server.status()? {
            ServerStatus::NotCreated => bail!(
                "the embedded database in {} was never created: start it with `store-core db \
                 start` (or any program), or set DATABASE_URL to another server",
                server.home().display()
            ),
            status => {
                if status == ServerStatus::Stopped {
                    eprintln!("note: the embedded database is stopped (`store-core db start`)");
                }
                println!("{}", server.url(DATABASE_NAME));
            }
        },
    }
    Ok(())
}
