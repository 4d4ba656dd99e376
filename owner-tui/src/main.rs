//! owner-tui: the owner's live analytics dashboard.
//!
//! One `tokio::select!` loop over the terminal's events, the effects' answers, the database's
//! notices and a timer. The state machine decides; effects run as tasks; the screen is drawn
//! only when something visible changed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::{CommandFactory, Parser};
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use icash_cli::ExitStatus;
use owner_tui::app::{self, Effect, Msg, Settings, State};
use owner_tui::cli::{Args, MANUAL};
use owner_tui::{effects, keymap, view};
use store_core::db::live::{self, CATALOG_CHANNEL, Notice, PURCHASE_CHANNEL};
use store_core::retry::RetryPolicy;
use store_core::settings;
use store_core::{ConnectOptions, Store};
use tokio::sync::mpsc::{self, UnboundedSender};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(code) = args.docs.handle(Args::command(), &MANUAL) {
        return code;
    }
    let _log_guard = store_core::paths::log_dir()
        .ok()
        .and_then(|dir| icash_cli::logging::init_file_logging("owner-tui", &dir));
    // Configuration errors are reported before the screen is taken over.
    let settings = match settings::Settings::load(settings::Given {
        database_url: args.database.database_url.clone(),
        min_purchases: args.min_purchases,
        refresh_secs: args.refresh,
        timezone: args.zone.timezone.clone(),
        ..settings::Given::default()
    }) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("owner-tui: {e}");
            return ExitStatus::Failure.into();
        }
    };
    if let Err(e) = settings.db_target() {
        eprintln!("owner-tui: {e}");
        return match e {
            store_core::Error::BadDatabaseUrl(_) => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        }
        .into();
    }
    // On this thread, the UI's: a panic here restores the terminal; one in a task does not (it
    // comes back as a message and the dashboard goes on).
    tui_runtime::terminal::install_panic_hook(tui_runtime::terminal::restore);
    // Two workers are plenty for a screen and a handful of queries, and keep memory small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("owner-tui: starting the runtime: {e}");
            return ExitStatus::Failure.into();
        }
    };
    let result = runtime.block_on(run(settings, args.export_dir));
    // Do not wait for background queries against a database that may hang.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("owner-tui: {e:#}");
            ExitStatus::Failure.into()
        }
    }
}

async fn run(config: settings::Settings, export_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let export_dir = match export_dir {
        Some(dir) => dir,
        None => std::env::current_dir().context("finding the current directory")?,
    };
    let settings = Settings {
        refresh_every: Duration::from_secs(config.refresh_secs),
        export_dir,
        zone: config.timezone,
    };
    let mut state = State::new(settings, config.min_purchases);
    // Restored when dropped, on every return path (errors included).
    let mut session = tui_runtime::terminal::enter(false).context("setting up the terminal")?;
    event_loop(&mut session.terminal, &mut state, config.database_url).await
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut State,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel::<Msg>();
    let (notice_tx, mut notice_rx) = mpsc::unbounded_channel::<Notice>();
    let (store_tx, mut store_rx) = mpsc::unbounded_channel::<Result<Store, String>>();
    tokio::spawn(connect(database_url, store_tx, msg_tx.clone()));

    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let started = Instant::now();
    let mut store: Option<Store> = None;

    let size = terminal.size()?;
    app::update(
        state,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    terminal.draw(|f| view::render(f, state))?;

    loop {
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => keymap::action_for(state.key_mode(), &key).map(Msg::Action),
                Some(Ok(Event::Resize(width, height))) => Some(Msg::Resize { width, height }),
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            Some(msg) = msg_rx.recv() => Some(msg),
            Some(notice) = notice_rx.recv() => Some(Msg::Notice { channel: notice.channel }),
            Some(connected) = store_rx.recv() => match connected {
                Ok(s) => {
                    tokio::spawn(listen_forever(s.clone(), notice_tx.clone(), msg_tx.clone()));
                    let description = s.describe().to_string();
                    tracing::info!("connected to {description}");
                    store = Some(s);
                    Some(Msg::Connected { description })
                }
                Err(e) => return Err(anyhow::anyhow!(e)),
            },
            _ = ticker.tick() => Some(Msg::Tick { now: started.elapsed(), wall: Utc::now() }),
            _ = sigterm.recv() => return Ok(()),
            _ = sighup.recv() => return Ok(()),
        };
        if let Some(msg) = msg {
            for effect in app::update(state, msg) {
                match effect {
                    Effect::Quit => return Ok(()),
                    effect => match &store {
                        Some(store) => effects::spawn(store, effect, &msg_tx),
                        None => tracing::debug!("not connected yet, dropped {effect:?}"),
                    },
                }
            }
        }
        if state.take_dirty() {
            terminal.draw(|f| view::render(f, state))?;
        }
    }
}

/// The waits between attempts to connect at start.
const CONNECT_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(10));
/// The waits before the live updates' connection is made again.
const LISTEN_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(500), Duration::from_secs(10));

/// Connects (starting the embedded default if that is the target), retrying while the
/// database is unreachable. Other errors end the program with their message.
async fn connect(
    database_url: Option<String>,
    store_tx: UnboundedSender<Result<Store, String>>,
    msg_tx: UnboundedSender<Msg>,
) {
    let options = ConnectOptions {
        database_url,
        max_size: 4,
        application_name: "owner-tui".into(),
        ..ConnectOptions::default()
    };
    let mut failures = 0;
    loop {
        match store_core::startup::open(&options).await {
            Ok(store) => {
                let _ = store_tx.send(Ok(store));
                return;
            }
            Err(e) if e.is_connection_problem() => {
                tracing::warn!("connecting: {e}");
                if msg_tx
                    .send(Msg::ConnectFailed {
                        error: e.to_string(),
                    })
                    .is_err()
                {
                    return;
                }
                failures += 1;
                tokio::time::sleep(CONNECT_RETRY.delay(failures)).await;
            }
            Err(e) => {
                let _ = store_tx.send(Err(e.to_string()));
                return;
            }
        }
    }
}

/// Keeps a LISTEN connection up: reconnects with backoff when it is lost and tells the state
/// machine; `live::listen` sends a `LISTENING` notice each time its LISTEN is in place, on which
/// the state machine refreshes (notices sent meanwhile are lost). Ends when the program does.
async fn listen_forever(
    store: Store,
    notices: UnboundedSender<Notice>,
    msg_tx: UnboundedSender<Msg>,
) {
    let mut failures = 0;
    loop {
        let since = Instant::now();
        match live::listen(
            store.config(),
            &[PURCHASE_CHANNEL, CATALOG_CHANNEL],
            notices.clone(),
        )
        .await
        {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!("live updates lost: {e}");
                if msg_tx
                    .send(Msg::ListenerLost {
                        error: e.to_string(),
                    })
                    .is_err()
                {
                    return;
                }
            }
        }
        // A connection that lasted starts the waits again from the first.
        if since.elapsed() > Duration::from_secs(10) {
            failures = 0;
        }
        failures += 1;
        tokio::time::sleep(LISTEN_RETRY.delay(failures)).await;
    }
}
