//! A cashier's day against a real PostgreSQL (issue 14): payment stored with the purchase, voids
//! and refunds (each refusal, replays, nothing half-written, the counters exact under them, with
//! concurrent writers), and shift reports (X equals Z, a closed shift's figures never change).

use std::str::FromStr;

use rust_decimal::Decimal;
use store_core::Store;
use store_core::domain::analytics::{self, Filter, Period};
use store_core::domain::cashier;
use store_core::domain::checkout::{self, CustomerChoice, Payment, PaymentMethod, Sale};
use store_core::domain::refund::{
    self, ManagerPin, RefundError, RefundRequest, VoidRequest, find_by_receipt, refund_purchase,
    void_purchase,
};
use store_core::domain::shift::{self, ShiftReport};
use store_core::error::CheckoutError;
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, fresh_db};
use uuid::Uuid;

const MANAGER: i32 = 90;
const CASHIER: i32 = 7;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// The demo data, a cashier and a manager.
async fn till_db() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let client = db.store.client().await.unwrap();
    cashier::add_cashier(&client, CASHIER, "Ada", None)
        .await
        .unwrap();
    cashier::add_cashier_with(&client, MANAGER, "Grace", Some("2468"), true)
        .await
        .unwrap();
    db
}

async fn price(db: &TestDb, product: i32) -> Decimal {
    db.store
        .client()
        .await
        .unwrap()
        .query_one("SELECT unit_price FROM product WHERE id = $1", &[&product])
        .await
        .unwrap()
        .get(0)
}

async fn total_of(db: &TestDb, products: &[i32]) -> Decimal {
    let mut total = Decimal::ZERO;
    for p in products {
        total += price(db, *p).await;
    }
    total
}

/// A sale at `till`, numbered `receipt_no`, paid with `payment`.
fn till_sale(till: &str, receipt_no: i64, products: &[i32], payment: Option<Payment>) -> Sale {
    let mut sale =
        Sale::open("SMKT001", CustomerChoice::new_customer()).at_till(till, Some(CASHIER));
    sale.product_ids = products.to_vec();
    sale.receipt_no = Some(receipt_no);
    sale.payment = payment;
    sale
}

fn void_of(purchase_id: i64, till: &str) -> VoidRequest {
    VoidRequest {
        void_key: Uuid::now_v7(),
        purchase_id,
        till: till.into(),
        cashier: Some(CASHIER),
        manager: MANAGER,
        manager_pin: ManagerPin::new("2468"),
        reason: "scanned twice".into(),
    }
}

fn refund_of(purchase_id: i64, products: &[i32], till: &str) -> RefundRequest {
    RefundRequest {
        refund_key: Uuid::now_v7(),
        purchase_id,
        product_ids: products.to_vec(),
        till: till.into(),
        cashier: Some(CASHIER),
        manager: MANAGER,
        manager_pin: ManagerPin::new("2468"),
        reason: "damaged".into(),
    }
}

/// Every row of the tables voids and refunds write, and every counter, as text: what a refused
/// call must leave as it was.
async fn everything(db: &TestDb) -> Vec<String> {
    let client = db.store.client().await.unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*)::text FROM purchase",
        "SELECT count(*)::text FROM purchase_void",
        "SELECT count(*)::text FROM refund",
        "SELECT count(*)::text FROM refund_line",
        "SELECT count(*)::text FROM shift",
        "SELECT coalesce(string_agg(purchases || 'x' || customers, ',' ORDER BY purchases), '') FROM stat_customer_histogram",
        "SELECT coalesce(string_agg(product_id || '=' || units, ',' ORDER BY product_id), '') FROM stat_product_units",
        "SELECT coalesce(string_agg(supermarket_id || '=' || purchases || '/' || revenue || '/' || voids || '/' || voided || '/' || refunds || '/' || refunded, ',' ORDER BY 1), '') FROM stat_branch_totals",
        "SELECT coalesce(sum(purchases), 0)::text || '/' || coalesce(sum(revenue), 0)::text FROM stat_branch_hourly",
        "SELECT coalesce(sum(purchases), 0)::text FROM customer_branch",
    ] {
        let value: String = client.query_one(sql, &[]).await.unwrap().get(0);
        out.push(format!("{sql} -> {value}"));
    }
    out
}

/// The counters (folded, read through the dashboard's own queries) equal the recount from the
/// rows, over everything and per branch, for several loyalty thresholds.
async fn assert_counters_equal_recount(store: &Store) {
    let client = store.client().await.unwrap();
    let branches: Vec<String> = client
        .query("SELECT id FROM supermarket ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for min in [1, 2, 3, 5] {
        let fast = analytics::dashboard_from_counters(&client, min, 1000)
            .await
            .unwrap();
        let recount = analytics::dashboard_from_rows(&client, &Filter::default(), min, 1000)
            .await
            .unwrap();
        assert_eq!(fast.unique_buyers, recount.unique_buyers, "min {min}");
        assert_eq!(fast.loyal_buyers, recount.loyal_buyers, "min {min}");
        assert_eq!(fast.loyal_page, recount.loyal_page, "min {min}");
        assert_eq!(fast.top_products, recount.top_products, "min {min}");
        assert_eq!(fast.branches, recount.branches, "min {min}");
        for branch in &branches {
            let fast = analytics::dashboard_from_branch_counters(&client, branch, min, 1000)
                .await
                .unwrap();
            let filter = Filter {
                supermarket_id: Some(branch.clone()),
                period: Period::AllTime,
                ..Filter::default()
            };
            let recount = analytics::dashboard_from_rows(&client, &filter, min, 1000)
                .await
                .unwrap();
            assert_eq!(fast.unique_buyers, recount.unique_buyers, "{branch}");
            assert_eq!(fast.loyal_buyers, recount.loyal_buyers, "{branch} {min}");
            assert_eq!(fast.loyal_page, recount.loyal_page, "{branch} {min}");
            assert_eq!(fast.top_products, recount.top_products, "{branch}");
            assert_eq!(fast.branches, recount.branches, "{branch}");
        }
    }
}

#[tokio::test]
async fn the_payment_is_stored_with_the_purchase_and_the_database_gives_the_change() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let total = total_of(&db, &[1, 2]).await;

    let cash = till_sale(
        "T01",
        1,
        &[1, 2],
        Some(Payment::cash(Some(total + dec("10")))),
    );
    let receipt = checkout::record_purchase(&client, &cash).await.unwrap();
    assert_eq!(receipt.payment_method, Some(PaymentMethod::Cash));
    assert_eq!(receipt.tendered, Some(total + dec("10")));
    assert_eq!(receipt.change_due, Some(dec("10.00")));

    let exact = till_sale("T01", 2, &[1, 2], Some(Payment::cash(None)));
    let receipt = checkout::record_purchase(&client, &exact).await.unwrap();
    assert_eq!(
        (receipt.tendered, receipt.change_due),
        (Some(total), Some(dec("0")))
    );

    let card = till_sale("T01", 3, &[3], Some(Payment::card()));
    let receipt = checkout::record_purchase(&client, &card).await.unwrap();
    assert_eq!(
        (receipt.payment_method, receipt.tendered, receipt.change_due),
        (Some(PaymentMethod::Card), None, None)
    );

    let none = till_sale("T01", 4, &[3], None);
    let receipt = checkout::record_purchase(&client, &none).await.unwrap();
    assert_eq!(receipt.payment_method, None);

    // A replay answers with the payment as first stored.
    let again = checkout::record_purchase(&client, &cash).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.change_due, Some(dec("10.00")));

    // Stored, as the receipt said.
    let row = client
        .query_one(
            "SELECT payment_method, tendered, change_due, shift_id IS NOT NULL FROM purchase \
             WHERE sale_key = $1",
            &[&cash.sale_key],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("cash"));
    assert_eq!(row.get::<_, Option<Decimal>>(1), Some(total + dec("10")));
    assert_eq!(row.get::<_, Option<Decimal>>(2), Some(dec("10.00")));
    assert!(row.get::<_, bool>(3), "a till sale is in its shift");
}

#[tokio::test]
async fn too_little_tendered_is_refused_and_writes_nothing() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let total = total_of(&db, &[1, 2]).await;
    let before = everything(&db).await;
    let short = till_sale(
        "T01",
        1,
        &[1, 2],
        Some(Payment::cash(Some(total - dec("0.01")))),
    );
    let e = checkout::record_purchase(&client, &short)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        CheckoutError::TenderedTooLittle {
            total,
            tendered: total - dec("0.01")
        }
    );
    assert!(e.is_business_refusal());
    // A card takes no amount tendered.
    let odd = till_sale(
        "T01",
        1,
        &[1],
        Some(Payment {
            method: PaymentMethod::Card,
            tendered: Some(dec("5")),
        }),
    );
    assert!(matches!(
        checkout::record_purchase(&client, &odd).await,
        Err(CheckoutError::BadPayment(_))
    ));
    assert_eq!(
        everything(&db).await,
        before,
        "nothing written, no shift opened"
    );
}

#[tokio::test]
async fn a_queued_sale_keeps_its_payment_and_is_never_refused_for_it() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let total = total_of(&db, &[4]).await;
    // As the till queued it offline: the till's total checked, the change as the till gave it.
    let mut paid = till_sale("T02", 1, &[4], Some(Payment::cash(Some(total + dec("1")))));
    paid.expected_total = Some(total);
    paid.sold_at = Some(chrono::Utc::now() - chrono::Duration::hours(3));
    let receipt = checkout::record_queued_purchase(&client, &paid)
        .await
        .unwrap();
    assert_eq!(receipt.tendered, Some(total + dec("1")));
    assert_eq!(receipt.change_due, Some(dec("1.00")));
    // A journal line without the till's total, at other prices: the cash was taken already, so
    // the sale is recorded; its method is kept, the amounts (which no longer add up) unknown.
    let mut old = till_sale("T02", 2, &[4], Some(Payment::cash(Some(total - dec("1")))));
    old.expected_total = None;
    let receipt = checkout::record_queued_purchase(&client, &old)
        .await
        .unwrap();
    assert_eq!(
        (receipt.payment_method, receipt.tendered, receipt.change_due),
        (Some(PaymentMethod::Cash), None, None)
    );
    // The same sale sent live is refused.
    let mut live = old.clone();
    live.sale_key = Uuid::now_v7();
    live.receipt_no = Some(3);
    assert!(matches!(
        checkout::record_purchase(&client, &live).await,
        Err(CheckoutError::TenderedTooLittle { .. })
    ));
}

#[test]
fn the_journal_keeps_a_sale_with_its_payment_and_reads_old_lines_without_one() {
    let sale = till_sale("T01", 9, &[1, 2], Some(Payment::cash(Some(dec("20.00")))));
    let line = serde_json::to_string(&sale).unwrap();
    assert!(
        line.contains(r#""payment":{"method":"cash","tendered":"20.00"}"#),
        "{line}"
    );
    let back: Sale = serde_json::from_str(&line).unwrap();
    assert_eq!(back, sale);
    let mut unpaid = sale.clone();
    unpaid.payment = None;
    let line = serde_json::to_string(&unpaid).unwrap();
    assert!(
        !line.contains("payment"),
        "old journal lines stay as they were: {line}"
    );
    assert_eq!(serde_json::from_str::<Sale>(&line).unwrap(), unpaid);
}

#[tokio::test]
async fn a_void_takes_the_purchase_out_of_every_figure_and_its_key_makes_retries_safe() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let sale = till_sale("T01", 1, &[1, 2, 3], Some(Payment::cash(None)));
    let receipt = checkout::record_purchase(&client, &sale).await.unwrap();
    let before = analytics::dashboard_from_counters(&client, 1, 10)
        .await
        .unwrap();

    let request = void_of(receipt.purchase_id, "T01");
    let void = void_purchase(&db.store, &request).await.unwrap();
    assert!(!void.replayed);
    assert_eq!(void.amount, receipt.total_amount);
    assert_eq!(void.manager, MANAGER);
    assert_eq!(void.reason, "scanned twice");
    let after = analytics::dashboard_from_counters(&client, 1, 10)
        .await
        .unwrap();
    assert_eq!(
        after.unique_buyers,
        before.unique_buyers - 1,
        "a new customer who only bought this"
    );
    assert_eq!(after.purchases(), before.purchases() - 1);
    assert_eq!(after.revenue(), before.revenue() - receipt.total_amount);
    assert_counters_equal_recount(&db.store).await;

    // The same key again: the void as stored, nothing written.
    let written = everything(&db).await;
    let again = void_purchase(&db.store, &request).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.voided_at, void.voided_at);
    assert_eq!(everything(&db).await, written);
    // Another key for the same purchase: voided already.
    assert_eq!(
        void_purchase(&db.store, &void_of(receipt.purchase_id, "T01")).await,
        Err(RefundError::AlreadyVoided)
    );
    // Nor can it be refunded.
    assert_eq!(
        refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[], "T01")).await,
        Err(RefundError::AlreadyVoided)
    );
    assert_eq!(everything(&db).await, written);

    let found = find_by_receipt(&client, "T01", 1).await.unwrap().unwrap();
    assert_eq!(
        found.voided.as_ref().map(|v| v.amount),
        Some(receipt.total_amount)
    );
    assert!(found.refundable_lines().is_empty());
    assert_eq!(found.receipt.payment_method, Some(PaymentMethod::Cash));
    assert_eq!(find_by_receipt(&client, "T01", 2).await.unwrap(), None);
}

#[tokio::test]
async fn refunds_take_lines_out_at_their_price_as_sold_and_never_twice() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let sale = till_sale("T01", 1, &[1, 2, 3], Some(Payment::card()));
    let receipt = checkout::record_purchase(&client, &sale).await.unwrap();
    let paid_for_2 = receipt
        .lines
        .iter()
        .find(|l| l.product_id == 2)
        .unwrap()
        .unit_price;
    // A price change after the sale changes nothing of the refund.
    client
        .execute(
            "UPDATE product SET unit_price = unit_price + 7 WHERE id = 2",
            &[],
        )
        .await
        .unwrap();

    let first = refund_of(receipt.purchase_id, &[2], "T01");
    let refunded = refund_purchase(&db.store, &first).await.unwrap();
    assert_eq!(refunded.amount, paid_for_2);
    assert_eq!(refunded.lines.len(), 1);
    assert_eq!(refunded.lines[0].unit_price, paid_for_2);
    assert_eq!(refunded.payment_method, Some(PaymentMethod::Card));
    assert_counters_equal_recount(&db.store).await;

    let written = everything(&db).await;
    let again = refund_purchase(&db.store, &first).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.refund_id, refunded.refund_id);
    assert_eq!(everything(&db).await, written);

    assert_eq!(
        refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[2, 3], "T01")).await,
        Err(RefundError::AlreadyRefunded {
            product_ids: vec![2]
        })
    );
    assert_eq!(
        refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[5], "T01")).await,
        Err(RefundError::NotInPurchase(vec![5]))
    );
    assert_eq!(
        void_purchase(&db.store, &void_of(receipt.purchase_id, "T01")).await,
        Err(RefundError::HasRefunds)
    );
    assert_eq!(everything(&db).await, written, "refusals write nothing");

    // The rest (no lines named): 1 and 3; then nothing is left.
    let rest = refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[], "T01"))
        .await
        .unwrap();
    let ids: Vec<i32> = rest.lines.iter().map(|l| l.product_id).collect();
    assert_eq!(ids, vec![1, 3]);
    assert_eq!(
        refunded.amount + rest.amount,
        receipt.total_amount,
        "never more than paid"
    );
    assert_eq!(
        refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[], "T01")).await,
        Err(RefundError::AlreadyRefunded {
            product_ids: vec![1, 2, 3]
        })
    );
    let found = find_by_receipt(&client, "T01", 1).await.unwrap().unwrap();
    assert_eq!(found.refunded_product_ids, vec![1, 2, 3]);
    assert_eq!(found.refunds.len(), 2);
    assert_eq!(found.refunds[0].amount, paid_for_2);
    assert!(found.voided.is_none());
    assert_counters_equal_recount(&db.store).await;
}

#[tokio::test]
async fn a_void_or_refund_needs_an_active_manager_a_reason_a_known_sale_and_its_own_key() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let receipt = checkout::record_purchase(&client, &till_sale("T01", 1, &[1, 2], None))
        .await
        .unwrap();
    let other = checkout::record_purchase(&client, &till_sale("T01", 2, &[3], None))
        .await
        .unwrap();
    cashier::add_cashier_with(&client, 91, "Retired boss", Some("1111"), true)
        .await
        .unwrap();
    cashier::retire_cashier(&client, 91).await.unwrap();
    let before = everything(&db).await;

    for manager in [CASHIER, 91, 4242] {
        let mut request = void_of(receipt.purchase_id, "T01");
        request.manager = manager;
        assert_eq!(
            void_purchase(&db.store, &request).await,
            Err(RefundError::NotAManager(manager))
        );
        let mut request = refund_of(receipt.purchase_id, &[1], "T01");
        request.manager = manager;
        assert_eq!(
            refund_purchase(&db.store, &request).await,
            Err(RefundError::NotAManager(manager))
        );
    }
    let mut blank = void_of(receipt.purchase_id, "T01");
    blank.reason = "  ".into();
    assert_eq!(
        void_purchase(&db.store, &blank).await,
        Err(RefundError::EmptyReason)
    );
    assert_eq!(
        void_purchase(&db.store, &void_of(999_999_999, "T01")).await,
        Err(RefundError::NotFound)
    );
    assert_eq!(
        refund_purchase(&db.store, &refund_of(999_999_999, &[1], "T01")).await,
        Err(RefundError::NotFound)
    );
    assert_eq!(everything(&db).await, before);

    // A key is one void: used for another purchase, refused.
    let request = void_of(receipt.purchase_id, "T01");
    void_purchase(&db.store, &request).await.unwrap();
    let mut reused = request.clone();
    reused.purchase_id = other.purchase_id;
    assert!(matches!(
        void_purchase(&db.store, &reused).await,
        Err(RefundError::Refused(_))
    ));
    assert_counters_equal_recount(&db.store).await;
}

#[tokio::test]
async fn the_counters_equal_a_recount_after_concurrent_sales_voids_and_refunds() {
    let db = till_db().await;
    // A regular who comes back to every till.
    let regular = Uuid::now_v7();
    let mut first = till_sale("T99", 1, &[1], Some(Payment::card()));
    first.customer = CustomerChoice::New(regular);
    checkout::submit(&db.store, &first).await.unwrap();
    let writers = (0..6u64).map(|w| {
        let store = db.store.clone();
        tokio::spawn(async move {
            let till = format!("T{w:02}");
            let mut mine = Vec::new();
            for i in 0..60u64 {
                let products: Vec<i32> = (1..=8)
                    .filter(|p| (i + *p as u64 + w).is_multiple_of(3) || *p == (i % 8) as i32 + 1)
                    .collect();
                let mut sale = till_sale(&till, i as i64 + 1, &products, Some(Payment::card()));
                if i % 4 == 1 {
                    sale.customer = CustomerChoice::Returning(regular);
                }
                let receipt = checkout::submit(&store, &sale).await.unwrap();
                mine.push(receipt.clone());
                match i % 5 {
                    0 => {
                        void_purchase(&store, &void_of(receipt.purchase_id, &till))
                            .await
                            .unwrap();
                    }
                    2 => {
                        refund_purchase(
                            &store,
                            &refund_of(receipt.purchase_id, &[receipt.lines[0].product_id], &till),
                        )
                        .await
                        .unwrap();
                    }
                    3 if i > 10 => {
                        // An older sale of this till, refunded whole (what is left of it).
                        let old = &mine[(i as usize * 7) % mine.len()];
                        // Refused only when nothing is left of it: voided, or every line
                        // refunded already.
                        match refund_purchase(&store, &refund_of(old.purchase_id, &[], &till)).await
                        {
                            Ok(refund) => assert!(!refund.replayed),
                            Err(RefundError::AlreadyVoided) => {}
                            Err(RefundError::AlreadyRefunded { product_ids }) => {
                                assert_eq!(
                                    product_ids,
                                    old.lines.iter().map(|l| l.product_id).collect::<Vec<_>>()
                                )
                            }
                            Err(other) => panic!("refund of purchase {}: {other}", old.purchase_id),
                        }
                    }
                    _ => {}
                }
            }
        })
    });
    // Dashboards read and fold while the tills write.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = db.store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let client = store.client().await.unwrap();
                analytics::dashboard_from_counters(&client, 2, 10)
                    .await
                    .unwrap();
                reads += 1;
            }
            reads
        })
    };
    for w in futures_util::future::join_all(writers).await {
        w.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.await.unwrap() > 0);
    let client = db.store.client().await.unwrap();
    let (voids, refunds): (i64, i64) = {
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM purchase_void), (SELECT count(*) FROM refund)",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(voids, 6 * 12);
    assert!(refunds >= 6 * 12, "{refunds}");
    assert_counters_equal_recount(&db.store).await;
    // The branch's void and refund counters are the rows'.
    let row = client
        .query_one(
            "SELECT sum(voids)::int8, sum(voided), sum(refunds)::int8, sum(refunded), \
                    (SELECT sum(amount) FROM purchase_void), (SELECT sum(amount) FROM refund) \
             FROM stat_branch_totals",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), voids);
    assert_eq!(row.get::<_, i64>(2), refunds);
    assert_eq!(row.get::<_, Decimal>(1), row.get::<_, Decimal>(4));
    assert_eq!(row.get::<_, Decimal>(3), row.get::<_, Decimal>(5));
}

fn without_time(mut report: ShiftReport) -> ShiftReport {
    report.closed_at = None;
    report.closed_by = None;
    report
}

#[tokio::test]
async fn x_equals_z_and_a_closed_shift_never_changes() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let empty = shift::current_shift(&client, "T05").await.unwrap();
    assert_eq!(
        (empty.shift_id, empty.sales),
        (0, 0),
        "no shift yet, nothing written"
    );

    let a = checkout::record_purchase(
        &client,
        &till_sale("T05", 1, &[1, 2], Some(Payment::cash(Some(dec("50"))))),
    )
    .await
    .unwrap();
    let b = checkout::record_purchase(&client, &till_sale("T05", 2, &[3], Some(Payment::card())))
        .await
        .unwrap();
    let c = checkout::record_purchase(
        &client,
        &till_sale("T05", 3, &[4, 5], Some(Payment::cash(None))),
    )
    .await
    .unwrap();
    let d = checkout::record_purchase(&client, &till_sale("T05", 4, &[6], None))
        .await
        .unwrap();
    void_purchase(&db.store, &void_of(c.purchase_id, "T05"))
        .await
        .unwrap();
    let refunded = refund_purchase(&db.store, &refund_of(a.purchase_id, &[1], "T05"))
        .await
        .unwrap();
    // Another till's sale is not in this shift.
    checkout::record_purchase(
        &client,
        &till_sale("T06", 1, &[1], Some(Payment::cash(None))),
    )
    .await
    .unwrap();

    let x = shift::current_shift(&client, "T05").await.unwrap();
    assert!(x.shift_id > 0 && !x.is_closed());
    assert_eq!(x.sales, 4);
    let revenue = a.total_amount + b.total_amount + c.total_amount + d.total_amount;
    assert_eq!(x.revenue, revenue);
    assert_eq!(
        x.by_method,
        vec![
            (Some(PaymentMethod::Card), 1, b.total_amount),
            (
                Some(PaymentMethod::Cash),
                2,
                a.total_amount + c.total_amount
            ),
            (None, 1, d.total_amount),
        ]
    );
    assert_eq!((x.voids, x.voided), (1, c.total_amount));
    assert_eq!((x.refunds, x.refunded), (1, refunded.amount));
    // Cash kept: a's total (its change went back) and c's, less c voided and a's cash refund.
    assert_eq!(x.cash_expected, a.total_amount - refunded.amount);
    assert_eq!((x.first_receipt_no, x.last_receipt_no), (Some(1), Some(4)));
    assert_eq!(x.first_sale_at, Some(a.created_at));
    assert_eq!(x.last_sale_at, Some(d.created_at));

    let z = shift::close_shift(&db.store, "T05", Some(CASHIER))
        .await
        .unwrap();
    assert_eq!(z.closed_by, Some(CASHIER));
    assert!(z.closed_at.is_some());
    assert_eq!(without_time(z.clone()), x, "Z is the X it closed");

    // Later sales, voids and refunds go to a new shift; the closed one reads as it closed.
    let e = checkout::record_purchase(
        &client,
        &till_sale("T05", 5, &[1], Some(Payment::cash(None))),
    )
    .await
    .unwrap();
    void_purchase(&db.store, &void_of(e.purchase_id, "T05"))
        .await
        .unwrap();
    refund_purchase(&db.store, &refund_of(b.purchase_id, &[], "T05"))
        .await
        .unwrap();
    let day = z.opened_at.date_naive();
    let shifts = shift::shifts_on(&client, "T05", day, store_core::domain::time_zone::Tz::UTC)
        .await
        .unwrap();
    assert_eq!(shifts.len(), 2, "{shifts:?}");
    assert_eq!(shifts[0], z);
    let next = &shifts[1];
    assert!(next.shift_id > z.shift_id && !next.is_closed());
    assert_eq!((next.sales, next.voids, next.refunds), (1, 1, 1));
    assert_eq!(
        next.cash_expected,
        Decimal::ZERO,
        "a card refund takes no cash"
    );
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM purchase WHERE shift_id = $1",
            &[&z.shift_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, z.sales, "the closed shift gained no row");
    // A Z with nothing since: an empty shift, closed.
    let next_z = shift::close_shift(&db.store, "T05", None).await.unwrap();
    assert_eq!(next_z.shift_id, next.shift_id);
    let empty_z = shift::close_shift(&db.store, "T05", None).await.unwrap();
    assert_eq!((empty_z.sales, empty_z.revenue), (0, Decimal::ZERO));
    assert!(empty_z.shift_id > next.shift_id);
}

#[tokio::test]
async fn sales_made_while_a_shift_closes_are_in_its_figures_or_in_the_next_shift() {
    let db = till_db().await;
    let sellers = (0..4u64).map(|w| {
        let store = db.store.clone();
        tokio::spawn(async move {
            for i in 0..40u64 {
                let sale = till_sale(
                    "T09",
                    (w * 100 + i + 1) as i64,
                    &[1 + (i % 5) as i32],
                    Some(Payment::card()),
                );
                checkout::submit(&store, &sale).await.unwrap();
            }
        })
    });
    let closer = {
        let store = db.store.clone();
        tokio::spawn(async move {
            let mut closed = Vec::new();
            for _ in 0..8 {
                closed.push(shift::close_shift(&store, "T09", None).await.unwrap());
                tokio::task::yield_now().await;
            }
            closed
        })
    };
    for s in futures_util::future::join_all(sellers).await {
        s.unwrap();
    }
    let closed = closer.await.unwrap();
    let client = db.store.client().await.unwrap();
    let mut counted = 0;
    for z in &closed {
        let (rows, revenue): (i64, Option<Decimal>) = {
            let row = client
                .query_one(
                    "SELECT count(*), sum(total_amount) FROM purchase WHERE shift_id = $1",
                    &[&z.shift_id],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(rows, z.sales, "shift {}", z.shift_id);
        assert_eq!(revenue.unwrap_or_default(), z.revenue);
        counted += rows;
    }
    let open = shift::current_shift(&client, "T09").await.unwrap();
    assert_eq!(counted + open.sales, 160);
}

#[test]
fn refund_errors_are_sentences_for_the_screen() {
    assert_eq!(RefundError::NotFound.to_string(), "no such sale");
    assert!(
        RefundError::Unavailable("timeout".into())
            .to_string()
            .contains("voids and refunds need it")
    );
    assert_eq!(
        refund::parse_receipt_number("T05-000003"),
        Some(("T05".into(), 3))
    );
}

/// The failures recorded for `manager` (the superuser reads them; no login role may).
async fn pin_failures(db: &TestDb, manager: i32) -> i64 {
    db.store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM manager_pin_failure WHERE manager = $1",
            &[&manager],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_database_checks_the_managers_pin_and_stops_guessing_after_five_wrong_ones() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let receipt = checkout::record_purchase(&client, &till_sale("T01", 1, &[1, 2], None))
        .await
        .unwrap();
    let before = everything(&db).await;
    let wrong_void = |pin: &str| {
        let mut request = void_of(receipt.purchase_id, "T01");
        request.manager_pin = ManagerPin::new(pin);
        request
    };
    let wrong_refund = |pin: &str| {
        let mut request = refund_of(receipt.purchase_id, &[1], "T01");
        request.manager_pin = ManagerPin::new(pin);
        request
    };
    // Wrong PINs (an empty one too) are refused and recorded; nothing else is written.
    for (n, pin) in ["1111", "", "24680", "8642"].iter().enumerate() {
        let result = if n % 2 == 0 {
            void_purchase(&db.store, &wrong_void(pin)).await.map(|_| ())
        } else {
            refund_purchase(&db.store, &wrong_refund(pin))
                .await
                .map(|_| ())
        };
        assert_eq!(result, Err(RefundError::WrongPin(MANAGER)), "PIN {pin:?}");
    }
    assert_eq!(everything(&db).await, before);
    assert_eq!(pin_failures(&db, MANAGER).await, 4);
    // The fifth wrong one is still a wrong PIN; from then on, even the right PIN is refused.
    assert_eq!(
        void_purchase(&db.store, &wrong_void("0000")).await,
        Err(RefundError::WrongPin(MANAGER))
    );
    assert_eq!(
        void_purchase(&db.store, &void_of(receipt.purchase_id, "T01")).await,
        Err(RefundError::TooManyWrongPins(MANAGER))
    );
    assert_eq!(
        refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[1], "T01")).await,
        Err(RefundError::TooManyWrongPins(MANAGER))
    );
    // Refusals while locked are not counted (the window does not grow).
    assert_eq!(pin_failures(&db, MANAGER).await, 5);
    assert_eq!(everything(&db).await, before);
    // Another manager is not locked out.
    cashier::add_cashier_with(&client, 92, "Hopper", Some("1357"), true)
        .await
        .unwrap();
    let mut other = refund_of(receipt.purchase_id, &[2], "T01");
    other.manager = 92;
    other.manager_pin = ManagerPin::new("1357");
    refund_purchase(&db.store, &other).await.unwrap();
    // Once the failures are older than 15 minutes, the right PIN works again.
    client
        .execute(
            "UPDATE manager_pin_failure SET failed_at = failed_at - interval '15 minutes 1 second'",
            &[],
        )
        .await
        .unwrap();
    let refund = refund_purchase(&db.store, &refund_of(receipt.purchase_id, &[1], "T01"))
        .await
        .unwrap();
    assert_eq!(refund.manager, MANAGER);
    assert_counters_equal_recount(&db.store).await;
}

#[tokio::test]
async fn concurrent_wrong_pins_are_each_counted() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let receipt = checkout::record_purchase(&client, &till_sale("T01", 1, &[1], None))
        .await
        .unwrap();
    let guesses = (0..8).map(|n| {
        let store = db.store.clone();
        let mut request = void_of(receipt.purchase_id, "T01");
        request.manager_pin = ManagerPin::new(format!("{:04}", 9000 + n));
        tokio::spawn(async move { void_purchase(&store, &request).await })
    });
    let mut wrong = 0;
    let mut locked = 0;
    for answer in futures_util::future::join_all(guesses).await {
        match answer.unwrap() {
            Err(RefundError::WrongPin(MANAGER)) => wrong += 1,
            Err(RefundError::TooManyWrongPins(MANAGER)) => locked += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((wrong, locked), (5, 3));
    assert_eq!(pin_failures(&db, MANAGER).await, 5);
}

#[tokio::test]
async fn a_void_is_of_a_sale_of_the_tills_open_shift_and_a_refund_of_any_sale() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let earlier = checkout::record_purchase(&client, &till_sale("T01", 1, &[1, 2], None))
        .await
        .unwrap();
    shift::close_shift(&db.store, "T01", Some(CASHIER))
        .await
        .unwrap();
    let now = checkout::record_purchase(&client, &till_sale("T01", 2, &[3], None))
        .await
        .unwrap();
    // A sale with no till (simulated, history) has no shift.
    let mut untilled = Sale::open("SMKT001", CustomerChoice::new_customer());
    untilled.product_ids = vec![4];
    let untilled = checkout::record_purchase(&client, &untilled).await.unwrap();
    let before = everything(&db).await;
    for (purchase_id, till) in [
        (earlier.purchase_id, "T01"),
        (now.purchase_id, "T02"),
        (untilled.purchase_id, "T01"),
    ] {
        assert_eq!(
            void_purchase(&db.store, &void_of(purchase_id, till)).await,
            Err(RefundError::NotInThisShift),
            "purchase {purchase_id} at {till}"
        );
    }
    assert_eq!(everything(&db).await, before);
    // The sale of this shift is voided; the others are refunded.
    void_purchase(&db.store, &void_of(now.purchase_id, "T01"))
        .await
        .unwrap();
    refund_purchase(&db.store, &refund_of(earlier.purchase_id, &[], "T02"))
        .await
        .unwrap();
    refund_purchase(&db.store, &refund_of(untilled.purchase_id, &[], "T01"))
        .await
        .unwrap();
    assert_counters_equal_recount(&db.store).await;
}

#[tokio::test]
async fn a_recorded_key_replays_even_once_its_manager_is_retired_or_its_reason_fails() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    let receipt = checkout::record_purchase(&client, &till_sale("T01", 1, &[1], None))
        .await
        .unwrap();
    let other = checkout::record_purchase(&client, &till_sale("T01", 2, &[2, 3], None))
        .await
        .unwrap();
    let void = void_of(receipt.purchase_id, "T01");
    let voided = void_purchase(&db.store, &void).await.unwrap();
    let refund = refund_of(other.purchase_id, &[2], "T01");
    let refunded = refund_purchase(&db.store, &refund).await.unwrap();
    cashier::retire_cashier(&client, MANAGER).await.unwrap();
    let after = everything(&db).await;
    let mut blank_void = void.clone();
    blank_void.reason = " ".into();
    let mut wrong_pin_void = void.clone();
    wrong_pin_void.manager_pin = ManagerPin::new("0000");
    for request in [&void, &wrong_pin_void] {
        let replay = void_purchase(&db.store, request).await.unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.voided_at, voided.voided_at);
    }
    let mut wrong_pin_refund = refund.clone();
    wrong_pin_refund.manager_pin = ManagerPin::new("0000");
    for request in [&refund, &wrong_pin_refund] {
        let replay = refund_purchase(&db.store, request).await.unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.refund_id, refunded.refund_id);
    }
    // The database replays a blank reason too (the Rust side refuses it before sending).
    let row = client
        .query_one(
            "SELECT replayed FROM void_purchase($1, $2, 'T01', NULL, $3, NULL, '')",
            &[&void.void_key, &receipt.purchase_id, &MANAGER],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(
        void_purchase(&db.store, &blank_void).await,
        Err(RefundError::EmptyReason)
    );
    assert_eq!(everything(&db).await, after);
    assert_eq!(pin_failures(&db, MANAGER).await, 0);
}

#[tokio::test]
async fn a_refund_of_a_sale_with_no_payment_recorded_is_paid_back_in_cash() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    // A sale with no payment step (simulated, history), refunded at T01.
    let unknown = checkout::record_purchase(&client, &till_sale("T09", 1, &[1, 2], None))
        .await
        .unwrap();
    let cash = checkout::record_purchase(
        &client,
        &till_sale("T01", 1, &[3], Some(Payment::cash(None))),
    )
    .await
    .unwrap();
    let refund = refund_purchase(&db.store, &refund_of(unknown.purchase_id, &[1], "T01"))
        .await
        .unwrap();
    assert_eq!(refund.payment_method, Some(PaymentMethod::Cash));
    let x = shift::current_shift(&client, "T01").await.unwrap();
    assert_eq!(x.cash_expected, cash.total_amount - refund.amount);
    let z = shift::close_shift(&db.store, "T01", Some(CASHIER))
        .await
        .unwrap();
    assert_eq!(z.cash_expected, cash.total_amount - refund.amount);
    // Gross is the shift's sales; net less what went back.
    assert_eq!(z.revenue, cash.total_amount);
    assert_eq!(z.net, cash.total_amount - refund.amount);
}

/// Refunds of one purchase at two tills at once (the same line, different lines), and a void
/// racing a refund: exactly one of the allowed outcomes, and the counters equal the recount.
#[tokio::test]
async fn racing_refunds_and_a_void_racing_a_refund_end_in_an_allowed_outcome() {
    let db = till_db().await;
    let client = db.store.client().await.unwrap();
    // T02's side is confirmed by another manager, so that neither waits at its manager's PIN.
    cashier::add_cashier_with(&client, 92, "Hopper", Some("1357"), true)
        .await
        .unwrap();
    let at_t02 = |mut request: RefundRequest| {
        request.manager = 92;
        request.manager_pin = ManagerPin::new("1357");
        request
    };
    for round in 0..4i64 {
        let receipt = checkout::record_purchase(
            &client,
            &till_sale("T01", round * 3 + 1, &[1, 2, 3], Some(Payment::card())),
        )
        .await
        .unwrap();
        // The same line twice: one refund, one "refunded already".
        let (first, second) = (
            refund_of(receipt.purchase_id, &[1], "T01"),
            at_t02(refund_of(receipt.purchase_id, &[1], "T02")),
        );
        let (a, b) = tokio::join!(
            refund_purchase(&db.store, &first),
            refund_purchase(&db.store, &second)
        );
        let refused = RefundError::AlreadyRefunded {
            product_ids: vec![1],
        };
        match (&a, &b) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => assert_eq!(e, &refused),
            other => panic!("the same line refunded: {other:?}"),
        }
        // Different lines: both refunded.
        let (first, second) = (
            refund_of(receipt.purchase_id, &[2], "T01"),
            at_t02(refund_of(receipt.purchase_id, &[3], "T02")),
        );
        let (a, b) = tokio::join!(
            refund_purchase(&db.store, &first),
            refund_purchase(&db.store, &second)
        );
        assert_eq!(a.unwrap().amount + b.unwrap().amount, {
            let lines = &receipt.lines;
            lines[1].unit_price + lines[2].unit_price
        });

        // A void racing a refund of a sale of this shift: the void, or the refund (and then the
        // void is refused for it), never both.
        let fresh = checkout::record_purchase(
            &client,
            &till_sale("T01", round * 3 + 2, &[4, 5], Some(Payment::cash(None))),
        )
        .await
        .unwrap();
        let (void, refund) = (
            void_of(fresh.purchase_id, "T01"),
            at_t02(refund_of(fresh.purchase_id, &[4], "T02")),
        );
        let (void, refund) = tokio::join!(
            void_purchase(&db.store, &void),
            refund_purchase(&db.store, &refund)
        );
        match (&void, &refund) {
            (Ok(v), Err(RefundError::AlreadyVoided)) => assert_eq!(v.amount, fresh.total_amount),
            (Err(RefundError::HasRefunds), Ok(r)) => assert_eq!(r.lines.len(), 1),
            other => panic!("a void and a refund: {other:?}"),
        }
        let rows: (i64, i64) = {
            let row = client
                .query_one(
                    "SELECT (SELECT count(*) FROM purchase_void WHERE purchase_id = $1), \
                            (SELECT count(*) FROM refund WHERE purchase_id = $1)",
                    &[&fresh.purchase_id],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert!(rows == (1, 0) || rows == (0, 1), "{rows:?}");
    }
    assert_counters_equal_recount(&db.store).await;
}
