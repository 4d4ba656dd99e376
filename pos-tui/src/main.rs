//! pos-tui: arguments, terminal setup and teardown, and the event loop.

use std::io::{Write, stdout};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{CommandFactory, Parser};
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use icash_cli::ExitStatus;
use pos_tui::app::{Clock, Ids, Msg, PrintSetup, State, update};
use pos_tui::cli::{Args, MANUAL};
use pos_tui::effects::{
    Runner, catalog_path, journal_status, read_catalog, read_roster, roster_path,
    spawn_catalog_listener,
};
use pos_tui::view::view;
use store_core::db::target::DbTarget;
use store_core::settings::{Given, Settings};
use store_core::till::journal::Journal;
use store_core::{ConnectOptions, Store};
use tokio::signal::unix::{SignalKind, signal};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(code) = args.docs.handle(Args::command(), &MANUAL) {
        return code;
    }
    let _log_guard = store_core::paths::log_dir()
        .ok()
        .and_then(|dir| icash_cli::logging::init_file_logging("pos-tui", &dir));
    // Flags and environment variables (clap) first, then the configuration file; all checked
    // before the screen opens.
    let settings = match Settings::load(Given {
        database_url: args.database.database_url.clone(),
        supermarket: args.supermarket.clone(),
        till: args.till.clone(),
        timezone: args.zone.timezone.clone(),
        receipt_command: args.receipt_command.clone(),
        receipt_file: args.receipt_file.clone(),
        receipt_width: args.receipt_width.map(usize::from),
        ..Given::default()
    }) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("pos-tui: {e}");
            return ExitStatus::Failure.into();
        }
    };
    if let Err(e) = settings.db_target() {
        eprintln!("pos-tui: {e}");
        return match e {
            store_core::Error::BadDatabaseUrl(_) => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        }
        .into();
    }
    // On this thread, the UI's: a panic here restores the terminal, one in a task does not.
    tui_runtime::terminal::install_panic_hook(tui_runtime::terminal::restore);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("pos-tui: cannot start: {e}");
            return ExitStatus::Failure.into();
        }
    };
    let result = runtime.block_on(run(args, settings));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("pos-tui: {e:#}");
            ExitStatus::Failure.into()
        }
    }
}

async fn open_store(database_url: Option<String>) -> anyhow::Result<Store> {
    let options = ConnectOptions {
        database_url: database_url.clone(),
        max_size: 4,
        application_name: "pos-tui".into(),
        ..ConnectOptions::default()
    };
    match DbTarget::resolve(database_url.as_deref())? {
        DbTarget::Embedded(_) => println!("starting database…"),
        DbTarget::Server(config) => println!(
            "connecting to {}…",
            store_core::db::target::describe_config(&config)
        ),
    }
    // An unreachable server is not an error: the till opens and the pool connects when the
    // database is back.
    Ok(store_core::startup::open_or_defer(&options).await?)
}

async fn run(args: Args, settings: Settings) -> anyhow::Result<()> {
    let Settings {
        database_url,
        supermarket,
        till,
        timezone,
        receipt_printer,
        receipt_width,
        ..
    } = settings;
    let journal_path = match args.journal {
        Some(path) => path,
        None => store_core::paths::icash_home()?.join("pos-journal.jsonl"),
    };
    // Before the database: a till without its journal must not sell.
    let journal = Journal::open(&journal_path)?;
    tracing::info!(
        journal = %journal_path.display(),
        pending = journal.pending_count(),
        refused = journal.refused().len(),
        "journal open"
    );
    let journal = Arc::new(Mutex::new(journal));
    // The cashiers an earlier run kept: signing in works before the database answers.
    let roster_path = roster_path(&journal_path);
    let stored_roster = match read_roster(&roster_path) {
        Ok(roster) => roster,
        Err(e) => {
            tracing::warn!(path = %roster_path.display(), "the kept roster is not used: {e}");
            Vec::new()
        }
    };
    // And the catalog it kept: the till sells (queuing the sales) before the database answers.
    let catalog_path = catalog_path(&journal_path);
    let stored_catalog = match read_catalog(&catalog_path) {
        Ok(kept) => kept,
        Err(e) => {
            tracing::warn!(path = %catalog_path.display(), "the kept catalog is not used: {e}");
            None
        }
    };

    let store = open_store(database_url).await?;
    tracing::info!(database = store.describe(), "pos-tui starting");

    let started = Instant::now();
    let clock = || Clock {
        wall: chrono::Utc::now().with_timezone(&timezone).naive_local(),
        since_start: started.elapsed(),
    };
    let mut state = State::new(
        clock(),
        store.describe().to_string(),
        supermarket,
        Ids::system(),
        timezone,
        till.clone(),
    );
    state.print_setup = PrintSetup {
        printer: receipt_printer.is_some(),
        width: receipt_width,
    };
    tracing::info!(%till, cashiers = stored_roster.len(), printer = ?receipt_printer, "till");
    update(&mut state, Msg::StoredRoster(stored_roster));
    if let Some(kept) = stored_catalog {
        update(&mut state, Msg::StoredCatalog(kept));
    }
    state.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    // Sales left waiting by an earlier run are sent from the first tick on.
    update(&mut state, Msg::Journal(journal_status(&journal)));

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let runner = Runner::new(
        store.clone(),
        journal.clone(),
        tx.clone(),
        till,
        roster_path,
        catalog_path,
    )
    .with_printer(receipt_printer);
    spawn_catalog_listener(store.clone(), tx.clone());
    runner.spawn_health_probe();

    // Restored when dropped, on every return path (errors included).
    let mut session = tui_runtime::terminal::enter(true).context("setting up the terminal")?;
    let terminal = &mut session.terminal;
    let size = terminal.size()?;
    update(
        &mut state,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;

    // The first tick (immediate) loads the catalog.
    loop {
        if state.take_dirty() {
            terminal.draw(|frame| view(&state, frame))?;
        }
        if state.quit {
            break;
        }
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => Msg::Key(key),
                Some(Ok(Event::Paste(text))) => Msg::Paste(text),
                Some(Ok(Event::Resize(width, height))) => {
                    terminal.autoresize()?;
                    Msg::Resize { width, height }
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e).context("reading the keyboard"),
                None => break,
            },
            Some(msg) = rx.recv() => msg,
            _ = tick.tick() => Msg::Tick(clock()),
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
        };
        let effects = update(&mut state, msg);
        for effect in effects {
            runner.run(effect);
        }
    }
    drop(session);
    let _ = stdout().flush();
    tracing::info!(
        sales = state.sales_done,
        waiting = state.pending_sales,
        "pos-tui stopped"
    );
    Ok(())
}
