//! End to end: the real binary in an 80x24 pseudo-terminal against a throwaway database, a
//! whole sale typed as a cashier would, the receipt read off the screen and the purchase checked
//! in the database.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use rust_decimal::Decimal;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

struct Till {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Till {
    fn start(database_url: &str, home: &std::path::Path) -> Till {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pos-tui"));
        cmd.args(["--database-url", database_url]);
        cmd.env("ICASH_HOME", home);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("DATABASE_URL");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("starting pos-tui");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
        let mut reader = pty.master.try_clone_reader().expect("a reader");
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
        let writer = pty.master.take_writer().expect("a writer");
        Till {
            parser,
            writer,
            child,
            _master: pty.master,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits until `text` is on the screen; fails with the screen after `WAIT`.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pos-tui exited ({status:?}) while waiting for {text:?}:\n{screen}");
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{text:?} did not appear within {WAIT:?}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The first UUID after `label` on the screen.
fn uuid_after(screen: &str, label: &str) -> Uuid {
    let line = screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} on the screen:\n{screen}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    let id = rest.split_whitespace().next().unwrap_or_default();
    Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id:?} after {label:?}: {e}\n{screen}"))
}

#[test]
fn a_cashier_rings_up_a_whole_sale() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = store_core::testkit::fresh_db().await;
        store_core::seed::seed(&db.store, &store_core::seed::SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        db
    });
    let home = tempfile::tempdir().unwrap();
    let mut till = Till::start(&db.url, home.path());

    // Start of shift: the branch list appears once the catalog is loaded.
    till.wait_for("SMKT003");
    till.send("1");
    till.wait_for("Branch SMKT001");
    till.wait_for("Customer: not chosen");
    till.send("n");
    let screen = till.wait_for("Customer: NEW");
    let customer = uuid_after(&screen, "Customer: NEW");
    // Three products by code, as a scanner types them.
    till.send("1\r");
    till.wait_for("Cart: 1 item(s)");
    till.send("2\r3\r");
    let screen = till.wait_for("Cart: 3 item(s)");
    assert!(screen.contains("eggs"), "{screen}");
    till.send("s");
    let screen = till.wait_for("Press any key for the next sale");

    let purchase_line = screen
        .lines()
        .find(|l| l.contains("Purchase  #"))
        .unwrap_or_else(|| panic!("no purchase id on the receipt:\n{screen}"));
    let purchase_id: i64 = purchase_line
        .split('#')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unreadable purchase id in {purchase_line:?}"));
    assert_eq!(uuid_after(&screen, "Customer  "), customer, "{screen}");
    assert!(
        screen.contains("milk") && screen.contains("bread"),
        "{screen}"
    );

    let (total, branch, user, products) = runtime.block_on(async {
        let client = db.store.client().await.unwrap();
        let row = client
            .query_one(
                "SELECT total_amount, supermarket_id, user_id, \
                 (SELECT array_agg(product_id ORDER BY product_id) FROM purchase_product \
                  WHERE purchase_id = p.id) \
                 FROM purchase p WHERE id = $1",
                &[&purchase_id],
            )
            .await
            .unwrap();
        (
            row.get::<_, Decimal>(0),
            row.get::<_, String>(1),
            row.get::<_, Uuid>(2),
            row.get::<_, Vec<i32>>(3),
        )
    });
    assert_eq!(total, Decimal::new(650, 2));
    assert_eq!(branch, "SMKT001");
    assert_eq!(user, customer);
    assert_eq!(products, vec![1, 2, 3]);

    // The next key opens the next sale; q (with nothing in it) quits and restores the terminal.
    till.send(" ");
    till.wait_for("Customer: not chosen");
    till.send("q");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = till.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = till.child.kill();
            panic!("pos-tui did not quit:\n{}", till.screen());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // Give the reader thread a moment to take the last bytes, bounded by the deadline.
    let deadline = Instant::now() + WAIT;
    while till.parser.lock().unwrap().screen().alternate_screen() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !till.parser.lock().unwrap().screen().alternate_screen(),
        "the terminal was left on the alternate screen"
    );
    // Logs went to the file under ICASH_HOME, not to the screen.
    let logs: Vec<_> = std::fs::read_dir(home.path().join("logs"))
        .expect("a log directory")
        .collect();
    assert!(!logs.is_empty());
}
