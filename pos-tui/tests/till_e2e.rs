//! End to end, a cashier's day: the real binary in an 80x24 pseudo-terminal against a throwaway
//! database. A sale paid in cash with change, voided with a manager's PIN; a returning
//! customer's loyalty card scanned, a card sale, one of its lines refunded; every receipt and slip printed through `--receipt-command` into a file;
//! the shift closed (Z). Then the database holds each row, and the analytics' counters equal a
//! recount from the rows and moved by exactly what the day says.

mod pty;

use std::time::{Duration, Instant};

use pty::{Till, WAIT};
use rust_decimal::Decimal;
use store_core::domain::analytics::{self, Filter};
use store_core::domain::cashier;

fn recount(
    runtime: &tokio::runtime::Runtime,
    db: &store_testkit::TestDb,
) -> (analytics::Dashboard, analytics::Dashboard) {
    runtime.block_on(async {
        let client = db.store.client().await.unwrap();
        analytics::fold(&client).await.unwrap();
        let counters = analytics::dashboard_from_counters(&client, 1, 10)
            .await
            .unwrap();
        let rows = analytics::dashboard_from_rows(&client, &Filter::default(), 1, 10)
            .await
            .unwrap();
        (counters, rows)
    })
}

fn branch(dashboard: &analytics::Dashboard, id: &str) -> (i64, Decimal) {
    dashboard
        .branches
        .iter()
        .find(|b| b.supermarket_id == id)
        .map_or((0, Decimal::ZERO), |b| (b.purchases, b.revenue))
}

/// Waits (bounded by `WAIT`) until the printed file holds every one of `texts`.
fn printed(path: &std::path::Path, texts: &[&str]) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if texts.iter().all(|t| text.contains(t)) {
            return text;
        }
        if Instant::now() > deadline {
            panic!("{texts:?} not all printed in {}:\n{text}", path.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_day_at_the_till_cash_and_change_a_void_a_refund_printed_receipts_and_the_z() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(async {
        let db = store_testkit::fresh_db().await;
        store_core::seed::seed(&db.store, &store_core::seed::SeedOptions::demo())
            .await
            .expect("seeding the demo data");
        let client = db.store.client().await.unwrap();
        cashier::add_cashier(&client, 5, "Dana Ross", None)
            .await
            .expect("adding a cashier");
        cashier::add_cashier_with(&client, 9, "Mo Diaz", Some("4321"), true)
            .await
            .expect("adding a manager");
        db
    });
    // A returning customer's loyalty card: their id (one that starts with a digit, as a
    // scanner types it key by key into the code field).
    let card: uuid::Uuid = runtime.block_on(async {
        let client = db.store.client().await.unwrap();
        client
            .query_one(
                "SELECT user_id FROM customer WHERE user_id::text ~ '^[0-9]' ORDER BY user_id \
                 LIMIT 1",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    });
    let (counters_before, before) = recount(&runtime, &db);
    assert_eq!(counters_before.branches, before.branches);

    let home = tempfile::tempdir().unwrap();
    let receipts = home.path().join("receipts.txt");
    let printer = format!("cat >> '{}'", receipts.display());
    let mut till = Till::start(
        &db.url,
        home.path(),
        &[
            "--till",
            "T03",
            "--receipt-command",
            &printer,
            "--receipt-width",
            "42",
        ],
    );
    till.wait_for("SMKT003");
    till.send("1");
    till.wait_for("Cashier number:");
    till.send("5\r");
    till.wait_for("cashier 5 Dana Ross signed in");

    // Sale 1: milk, bread, eggs (6.50), 10.00 in cash: 3.50 change.
    till.send("n");
    till.wait_for("Customer: NEW");
    till.send("1\r2\r3\r");
    till.wait_for("Cart: 3 item(s)");
    till.send("s");
    till.wait_for("PAYMENT");
    till.send("5\r");
    till.wait_for("5.00 is less than the total 6.50");
    till.send("\x7f10\r");
    let screen = till.wait_for("Press any key for the next sale");
    assert!(screen.contains("Receipt   T03-000001"), "{screen}");
    assert!(screen.contains("cash 10.00, change 3.50"), "{screen}");
    assert!(screen.contains("CHANGE"), "{screen}");
    printed(&receipts, &["T03-000001", "Change", "3.50"]);

    // Voided from its receipt: reason, manager 9, a wrong PIN, then the right one.
    till.send("V");
    till.wait_for("void T03-000001 (6.50)");
    till.send("rang up twice\r");
    till.wait_for("Manager:");
    till.send("9\r");
    till.wait_for("manager 9 Mo Diaz: type your PIN");
    till.send("1111\r");
    till.wait_for("wrong PIN for manager 9 Mo Diaz");
    till.send("4321\r");
    till.wait_for("sale T03-000001 voided: 6.50 to give back");
    printed(&receipts, &["*** VOID ***", "rang up twice"]);

    // Sale 2: a returning customer's card scanned, chicken and cheese (11.50) by card; then
    // its chicken refunded.
    till.send(" ");
    till.wait_for("Customer: not chosen");
    till.send(&format!("{card}\r"));
    till.wait_for(&format!("Customer: returning {card}"));
    till.send("4\r8\r");
    till.wait_for("Cart: 2 item(s)");
    till.send("sk");
    let screen = till.wait_for("Press any key for the next sale");
    assert!(screen.contains("Receipt   T03-000002"), "{screen}");
    printed(&receipts, &["T03-000002", "Paid by"]);
    till.send("r");
    till.wait_for("Receipt number:");
    till.send("T03-000002\r");
    till.wait_for("2 line(s) can be refunded");
    till.send(" \r");
    till.wait_for("refund 6.50: type why");
    till.send("spoiled\r9\r4321\r");
    till.wait_for("of sale T03-000002: 6.50 to give back");
    printed(&receipts, &["*** REFUND ***", "spoiled"]);

    // The shift closes: Z asks, then the report is shown and printed.
    till.send(" Z");
    till.wait_for("Close the shift");
    till.send("y");
    let screen = till.wait_for("Z REPORT");
    assert!(screen.contains("2 · gross"), "{screen}");
    let paper = printed(&receipts, &["Z REPORT - SHIFT CLOSED"]);
    for line in paper.lines() {
        assert!(line.chars().count() <= 42, "wider than the paper: {line:?}");
    }
    till.send(" ");
    till.send("q");
    assert!(till.wait_exit().success());

    // The database: the payment with the purchase, the void and the refund as their own rows,
    // the shift closed with its figures.
    runtime.block_on(async {
        let client = db.store.client().await.unwrap();
        let sale = |n: i64| {
            let client = &client;
            async move {
                client
                    .query_one(
                        "SELECT id, payment_method, tendered, change_due, shift_id \
                         FROM purchase WHERE till = 'T03' AND receipt_no = $1",
                        &[&n],
                    )
                    .await
                    .unwrap()
            }
        };
        let first = sale(1).await;
        let second = sale(2).await;
        assert_eq!(first.get::<_, Option<String>>(1).as_deref(), Some("cash"));
        assert_eq!(
            first.get::<_, Option<Decimal>>(2),
            Some(Decimal::new(1000, 2))
        );
        assert_eq!(
            first.get::<_, Option<Decimal>>(3),
            Some(Decimal::new(350, 2))
        );
        assert_eq!(second.get::<_, Option<String>>(1).as_deref(), Some("card"));
        assert_eq!(second.get::<_, Option<Decimal>>(2), None);
        let void = client
            .query_one(
                "SELECT manager, reason, amount FROM purchase_void WHERE purchase_id = $1",
                &[&first.get::<_, i64>(0)],
            )
            .await
            .unwrap();
        assert_eq!(void.get::<_, i32>(0), 9);
        assert_eq!(void.get::<_, String>(1), "rang up twice");
        assert_eq!(void.get::<_, Decimal>(2), Decimal::new(650, 2));
        let refund = client
            .query_one(
                "SELECT r.manager, r.reason, r.amount, array_agg(l.product_id) \
                 FROM refund r JOIN refund_line l ON l.refund_id = r.id \
                 WHERE r.purchase_id = $1 GROUP BY r.id",
                &[&second.get::<_, i64>(0)],
            )
            .await
            .unwrap();
        assert_eq!(refund.get::<_, i32>(0), 9);
        assert_eq!(refund.get::<_, String>(1), "spoiled");
        assert_eq!(refund.get::<_, Decimal>(2), Decimal::new(650, 2));
        assert_eq!(refund.get::<_, Vec<i32>>(3), vec![4]);
        let shift = client
            .query_one(
                "SELECT closed_at IS NOT NULL, closed_by, figures IS NOT NULL FROM shift \
                 WHERE id = $1",
                &[&first.get::<_, Option<i64>>(4)],
            )
            .await
            .unwrap();
        assert!(shift.get::<_, bool>(0), "the shift is closed");
        assert_eq!(shift.get::<_, Option<i32>>(1), Some(5));
        assert!(shift.get::<_, bool>(2), "its figures are stored");
    });

    // The analytics: counters equal the recount, and moved by exactly the day's figures: the
    // voided sale counts nowhere, the refunded chicken left the revenue (11.50 - 6.50).
    let (counters, rows) = recount(&runtime, &db);
    assert_eq!(counters.unique_buyers, rows.unique_buyers);
    assert_eq!(counters.loyal_buyers, rows.loyal_buyers);
    assert_eq!(counters.top_products, rows.top_products);
    assert_eq!(counters.branches, rows.branches);
    // Sale 1's new customer bought nothing that counts; sale 2's customer was counted already.
    assert_eq!(rows.unique_buyers, before.unique_buyers);
    let (purchases_before, revenue_before) = branch(&before, "SMKT001");
    assert_eq!(
        branch(&rows, "SMKT001"),
        (purchases_before + 1, revenue_before + Decimal::new(500, 2))
    );
}
