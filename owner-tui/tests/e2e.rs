//! The real program in a pseudo-terminal at 80x24, against a throwaway database: a sale made
//! through store-core shows up on screen by itself, without a key press.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use store_core::domain::analytics::{self, Filter};
use store_core::domain::checkout::{CustomerChoice, Sale, submit};
use store_core::seed::{SeedOptions, seed};

const DEADLINE: Duration = Duration::from_secs(20);

fn screen(parser: &Arc<Mutex<vt100::Parser>>) -> String {
    parser.lock().unwrap().screen().contents()
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

async fn wait_for(parser: &Arc<Mutex<vt100::Parser>>, what: &str, ok: impl Fn(&str) -> bool) {
    let until = Instant::now() + DEADLINE;
    loop {
        let text = screen(parser);
        if ok(&text) {
            return;
        }
        if Instant::now() > until {
            panic!("timed out waiting for {what}; the screen:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_shows_up_live_without_a_key_press() {
    let db = store_testkit::fresh_db().await;
    seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let before = {
        let client = db.store.client().await.unwrap();
        analytics::dashboard(&client, &Filter::default(), 3, 10)
            .await
            .unwrap()
            .unique_buyers
    };
    let home = tempfile::tempdir().unwrap();

    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    // The configuration file gives the threshold; its connection string loses to the flag
    // (it points nowhere, so the figures prove which one was used).
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        "database_url = \"postgresql://nobody@127.0.0.1:1/nowhere\"\nmin_purchases = 4\n",
    )
    .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_owner-tui"));
    cmd.args(["--database-url", &db.url]);
    cmd.env("ICASH_HOME", home.path());
    cmd.env("ICASH_CONFIG", &config);
    cmd.env_remove("DATABASE_URL");
    cmd.env_remove("MIN_PURCHASES");
    cmd.env("TERM", "xterm-256color");
    cmd.env("NO_COLOR", "1");
    cmd.cwd(home.path());
    let mut child = pair.slave.spawn_command(cmd).unwrap();
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
    let mut writer = pair.master.take_writer().unwrap();

    wait_for(&parser, &format!("{before} unique buyers"), |s| {
        unique_buyers_on_screen(s) == Some(before)
    })
    .await;

    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![1, 2];
    submit(&db.store, &sale).await.unwrap();

    wait_for(&parser, &format!("{} unique buyers", before + 1), |s| {
        unique_buyers_on_screen(s) == Some(before + 1)
    })
    .await;
    let text = screen(&parser);
    assert!(text.contains("LIVE"), "{text}");
    assert!(
        text.contains("loyal 4+"),
        "the file's min_purchases: {text}"
    );

    writer.write_all(b"q").unwrap();
    writer.flush().unwrap();
    let until = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!(
                "owner-tui did not quit on q; the screen:\n{}",
                screen(&parser)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    // The terminal is given back: the alternate screen is left (the last bytes may still be
    // on their way through the pseudo-terminal).
    let until = Instant::now() + DEADLINE;
    while parser.lock().unwrap().screen().alternate_screen() {
        assert!(
            Instant::now() < until,
            "still on the alternate screen after exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
