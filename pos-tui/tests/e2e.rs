//! End to end: the real binary in an 80x24 pseudo-terminal against a throwaway database, a
//! whole sale typed as a cashier would, the receipt read off the screen and the purchase checked
//! in the database.

mod pty;

use std::time::{Duration, Instant};

use pty::{Till, WAIT, uuid_after};
use rust_decimal::Decimal;
use uuid::Uuid;

#[test]
fn a_cashier_rings_up_a_whole_sale() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = store_testkit::fresh_db().await;
        store_core::seed::seed(&db.store, &store_core::seed::SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        db
    });
    let home = tempfile::tempdir().unwrap();
    let mut till = Till::start(&db.url, home.path(), &[]);

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
    till.send("s\r");
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

/// A chain with cashiers: the till asks for the cashier's number and PIN, a wrong PIN is
/// refused, the right one signs in, and the purchase records the till, the cashier and the
/// till's first receipt number.
#[test]
fn a_cashier_signs_in_with_a_pin_and_the_sale_records_till_cashier_and_receipt_number() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = store_testkit::fresh_db().await;
        store_core::seed::seed(&db.store, &store_core::seed::SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        let client = db.store.client().await.unwrap();
        store_core::domain::cashier::add_cashier(&client, 5, "Dana Ross", Some("2468"))
            .await
            .expect("adding a cashier");
        db
    });
    let home = tempfile::tempdir().unwrap();
    let mut till = Till::start(&db.url, home.path(), &["--till", "T03"]);

    till.wait_for("SMKT003");
    till.send("1");
    till.wait_for("Cashier number:");
    till.send("5\r");
    till.wait_for("PIN:");
    till.send("1357\r");
    till.wait_for("wrong PIN for cashier 5 Dana Ross");
    till.send("2468\r");
    till.wait_for("cashier 5 Dana Ross signed in");
    till.wait_for("Customer: not chosen");
    till.send("n");
    till.wait_for("Customer: NEW");
    till.send("4\r");
    till.wait_for("Cart: 1 item(s)");
    till.send("s\r");
    let screen = till.wait_for("Press any key for the next sale");
    assert!(screen.contains("Receipt   T03-000001"), "{screen}");
    assert!(screen.contains("T03 · cashier 5 Dana Ross"), "{screen}");
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

    let (till_id, cashier, receipt_no) = runtime.block_on(async {
        let client = db.store.client().await.unwrap();
        let row = client
            .query_one(
                "SELECT till, cashier, receipt_no FROM purchase WHERE id = $1",
                &[&purchase_id],
            )
            .await
            .unwrap();
        (
            row.get::<_, Option<String>>(0),
            row.get::<_, Option<i32>>(1),
            row.get::<_, Option<i64>>(2),
        )
    });
    assert_eq!(
        (till_id.as_deref(), cashier, receipt_no),
        (Some("T03"), Some(5), Some(1))
    );
    // The roster is kept beside the journal, for this user only.
    let roster = home.path().join("pos-journal.roster.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&roster)
            .expect("the kept roster")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // L on the receipt signs out: the next cashier is asked for.
    till.send("L");
    till.wait_for("cashier 5 Dana Ross signed out");
    till.send("q");
    assert!(till.wait_exit().success());
}
