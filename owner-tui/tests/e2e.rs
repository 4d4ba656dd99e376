//! The real program in a pseudo-terminal at 80x24, against a throwaway database: a sale made
//! through store-core shows up on screen by itself, without a key press.

use std::time::Duration;

use store_core::domain::analytics::{self, Filter};
use store_core::domain::checkout::{CustomerChoice, Sale, submit};
use store_core::seed::{SeedOptions, seed};
use store_testkit::pty::{CommandBuilder, Terminal};

const DEADLINE: Duration = Duration::from_secs(20);

/// The number on the "Unique buyers" line, if it is on screen.
fn unique_buyers_on_screen(text: &str) -> Option<i64> {
    let line = text.lines().find(|l| l.contains("Unique buyers"))?;
    let after = &line[line.find("Unique buyers")? + "Unique buyers".len()..];
    after
        .split(|c: char| !c.is_ascii_digit())
        .find(|t| !t.is_empty())
        .and_then(|t| t.parse().ok())
}

/// Waits (without holding up the runtime's other tasks) until `ok` holds for the screen.
fn wait_for(dashboard: &mut Terminal, what: &str, ok: impl Fn(&str) -> bool) {
    tokio::task::block_in_place(|| dashboard.wait_until(what, DEADLINE, ok));
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
    cmd.env("NO_COLOR", "1");
    cmd.cwd(home.path());
    let mut dashboard = Terminal::spawn(cmd);

    wait_for(&mut dashboard, &format!("{before} unique buyers"), |s| {
        unique_buyers_on_screen(s) == Some(before)
    });

    let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
    sale.product_ids = vec![1, 2];
    submit(&db.store, &sale).await.unwrap();

    wait_for(
        &mut dashboard,
        &format!("{} unique buyers", before + 1),
        |s| unique_buyers_on_screen(s) == Some(before + 1),
    );
    let text = dashboard.screen();
    assert!(text.contains("LIVE"), "{text}");
    assert!(
        text.contains("loyal 4+"),
        "the file's min_purchases: {text}"
    );

    dashboard.send("q");
    let status = tokio::task::block_in_place(|| dashboard.wait_exit(DEADLINE));
    assert!(status.success(), "exit status {status:?}");
    // The terminal is given back: the alternate screen is left (the last bytes may still be
    // on their way through the pseudo-terminal).
    assert!(
        tokio::task::block_in_place(|| dashboard.left_alternate_screen(DEADLINE)),
        "still on the alternate screen after exit"
    );
}

/// The real program against the seeded demo data: Tab goes through every view, Enter opens a
/// loyal buyer and Esc comes back, `d` takes a typed range, `e` exports the products shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_views_a_customer_a_typed_range_and_an_export_on_a_real_database() {
    let db = store_testkit::fresh_db().await;
    seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_owner-tui"));
    cmd.args(["--database-url", &db.url]);
    cmd.env("ICASH_HOME", home.path());
    cmd.env("ICASH_CONFIG", home.path().join("none.toml"));
    cmd.env_remove("DATABASE_URL");
    cmd.env("NO_COLOR", "1");
    cmd.cwd(home.path());
    let mut dashboard = Terminal::spawn(cmd);
    wait_for(&mut dashboard, "the overview", |s| {
        s.contains("LIVE") && unique_buyers_on_screen(s).is_some()
    });

    let views: [(&str, &[&str]); 6] = [
        ("the summary", &["Summary", "Purchases", "Average basket"]),
        ("the products", &["Products", "milk", "Revenue"]),
        ("the heat map", &["Sales by hour and weekday", "Mon", "Sun"]),
        ("the tills", &["Sales per till"]),
        ("the cashiers", &["Sales per cashier"]),
        ("the overview again", &["Unique buyers", "Loyal buyers"]),
    ];
    for (what, texts) in views {
        dashboard.send("\t");
        wait_for(&mut dashboard, what, |s| {
            texts.iter().all(|t| s.contains(t))
        });
    }

    dashboard.send("\r");
    wait_for(&mut dashboard, "a loyal buyer's detail", |s| {
        s.contains("First visit") && s.contains("Visits, newest first") && s.contains("Esc back")
    });
    dashboard.send("\x1b");
    wait_for(&mut dashboard, "the loyal list again", |s| {
        s.contains("Loyal buyers (3+ purchases)") && !s.contains("First visit")
    });

    // A range typed with a slip, refused on screen, then corrected.
    dashboard.send("d");
    wait_for(&mut dashboard, "the range popup", |s| {
        s.contains("Period: a date range")
    });
    dashboard.send("2020-01-01\t2030-02-31\r");
    wait_for(&mut dashboard, "the refusal", |s| {
        s.contains("YYYY-MM-DD, such as")
    });
    dashboard.send("\x7f\x7f28\r");
    let screen = {
        let what = "the range in the header";
        tokio::task::block_in_place(|| {
            dashboard.wait_until(what, DEADLINE, |s| {
                s.contains("2020-01-01 – 2030-02-28") && s.contains("LIVE")
            })
        })
    };
    assert!(!screen.contains("Period: a date range"), "{screen}");

    dashboard.send("\t\t");
    wait_for(&mut dashboard, "the products", |s| s.contains("Products ·"));
    dashboard.send("e");
    wait_for(&mut dashboard, "the export", |s| {
        s.contains("rows as CSV to")
    });
    let exported: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("products_all-branches_2020-01-01_2030-02-28_"))
        .collect();
    assert_eq!(exported.len(), 1, "{exported:?}");
    let csv = std::fs::read_to_string(home.path().join(&exported[0])).unwrap();
    assert!(
        csv.starts_with("position,product_id,product,units,revenue\n1,"),
        "{csv}"
    );
    assert!(csv.contains(",milk,"), "{csv}");

    dashboard.send("q");
    let status = tokio::task::block_in_place(|| dashboard.wait_exit(DEADLINE));
    assert!(status.success(), "exit status {status:?}");
}
