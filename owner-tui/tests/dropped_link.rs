//! Fault test: the link to the database silently stops carrying packets (a proxy that stalls,
//! sockets open, no reset). The real dashboard in a pseudo-terminal says it is waiting, then
//! STALE, within seconds; keys keep working; when the link carries packets again it is LIVE by
//! itself with the sale made meanwhile.

#[path = "../../pos-tui/tests/proxy/mod.rs"]
mod proxy;

use std::time::{Duration, Instant};

use proxy::Proxy;
use store_core::domain::analytics::{self, Filter};
use store_core::domain::checkout::{CustomerChoice, Sale, submit};
use store_core::seed::{SeedOptions, seed};
use store_testkit::pty::{CommandBuilder, Terminal};

const DEADLINE: Duration = Duration::from_secs(30);

/// owner-tui in a pseudo-terminal, its waits bounded by `DEADLINE`.
struct Dashboard(Terminal);

impl Dashboard {
    fn start(url: &str, home: &std::path::Path) -> Dashboard {
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_owner-tui"));
        // A fallback refresh every second: the dashboard asks the database all the time.
        cmd.args(["--database-url", url, "--refresh", "1"]);
        cmd.env("ICASH_HOME", home);
        cmd.env("ICASH_CONFIG", home.join("no-config.toml"));
        cmd.env_remove("DATABASE_URL");
        cmd.env_remove("MIN_PURCHASES");
        cmd.env("NO_COLOR", "1");
        cmd.cwd(home);
        Dashboard(Terminal::spawn(cmd))
    }

    /// Waits until `ok` holds for the screen; fails with the screen after `DEADLINE`.
    fn wait_until(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.0.wait_until(what, DEADLINE, ok)
    }
}

impl std::ops::Deref for Dashboard {
    type Target = Terminal;
    fn deref(&self) -> &Terminal {
        &self.0
    }
}

impl std::ops::DerefMut for Dashboard {
    fn deref_mut(&mut self) -> &mut Terminal {
        &mut self.0
    }
}

/// The number on the "Unique buyers" line, if it is on screen.
fn unique_buyers_on_screen(text: &str) -> Option<i64> {
    let line = text.lines().find(|l| l.contains("Unique buyers"))?;
    let after = &line[line.find("Unique buyers")? + "Unique buyers".len()..];
    after
        .split(|c: char| !c.is_ascii_digit())
        .find(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
}

#[test]
fn a_silently_dropped_link_shows_stale_and_the_dashboard_recovers_by_itself() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (db, before) = runtime.block_on(async {
        let db = store_testkit::fresh_db().await;
        seed(&db.store, &SeedOptions::demo()).await.unwrap();
        let client = db.store.client().await.unwrap();
        let before = analytics::dashboard(&client, &Filter::default(), 3, 10)
            .await
            .unwrap()
            .unique_buyers;
        (db, before)
    });
    let server = &store_testkit::server().server;
    let proxy = Proxy::start(&runtime, server.socket_dir(), server.port());
    let home = tempfile::tempdir().unwrap();
    let mut dashboard = Dashboard::start(&proxy.url(&db.name), home.path());
    dashboard.wait_until("the figures, LIVE", |s| {
        s.contains("LIVE") && unique_buyers_on_screen(s) == Some(before)
    });

    proxy.stall();
    let stalled = Instant::now();
    dashboard.wait_until("waiting for the database", |s| {
        s.contains("waiting for the database") && !s.contains("LIVE")
    });
    let waiting = stalled.elapsed();
    let screen = dashboard.wait_until("STALE", |s| s.contains("STALE"));
    eprintln!(
        "after the link stalled: \"waiting\" at {} ms, STALE at {} ms",
        waiting.as_millis(),
        stalled.elapsed().as_millis()
    );
    assert_eq!(unique_buyers_on_screen(&screen), Some(before), "{screen}");

    // Keys work meanwhile.
    dashboard.send("?");
    dashboard.wait_until("the help", |s| s.contains("Any key closes this help."));
    dashboard.send("\x1b");
    dashboard.wait_until("the help closed", |s| {
        !s.contains("Any key closes this help.")
    });

    // A sale made meanwhile (directly, not through the stalled link).
    runtime.block_on(async {
        let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
        sale.product_ids = vec![1, 2];
        submit(&db.store, &sale).await.unwrap();
    });

    proxy.forward();
    let back = Instant::now();
    dashboard.wait_until("LIVE again with the new sale", |s| {
        s.contains("LIVE") && !s.contains("STALE") && unique_buyers_on_screen(s) == Some(before + 1)
    });
    eprintln!(
        "LIVE again {} ms after the link came back",
        back.elapsed().as_millis()
    );

    dashboard.send("q");
    let status = dashboard.wait_exit(DEADLINE);
    assert!(status.success(), "{status:?}");
}
