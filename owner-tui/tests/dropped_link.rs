//! Fault test: the link to the database silently stops carrying packets (a proxy that stalls,
//! sockets open, no reset). The real dashboard in a pseudo-terminal says it is waiting, then
//! STALE, within seconds; keys keep working; when the link carries packets again it is LIVE by
//! itself with the sale made meanwhile.

#[path = "../../pos-tui/tests/proxy/mod.rs"]
mod proxy;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use proxy::Proxy;
use store_core::domain::analytics::{self, Filter};
use store_core::domain::checkout::{CustomerChoice, Sale, submit};
use store_core::seed::{SeedOptions, seed};

const DEADLINE: Duration = Duration::from_secs(30);

struct Dashboard {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Dashboard {
    fn start(url: &str, home: &std::path::Path) -> Dashboard {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_owner-tui"));
        // A fallback refresh every second: the dashboard asks the database all the time.
        cmd.args(["--database-url", url, "--refresh", "1"]);
        cmd.env("ICASH_HOME", home);
        cmd.env("ICASH_CONFIG", home.join("no-config.toml"));
        cmd.env_remove("DATABASE_URL");
        cmd.env_remove("MIN_PURCHASES");
        cmd.env("TERM", "xterm-256color");
        cmd.env("NO_COLOR", "1");
        cmd.cwd(home);
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let feed = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().unwrap();
        Dashboard {
            parser,
            writer,
            child,
            _master: pair.master,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits until `ok` holds for the screen; fails with the screen after `DEADLINE`.
    fn wait_until(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("owner-tui exited ({status:?}) while waiting for {what}:\n{screen}");
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("no {what} within {DEADLINE:?}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = dashboard.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = dashboard.child.kill();
            panic!("owner-tui did not quit:\n{}", dashboard.screen());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
