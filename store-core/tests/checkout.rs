//! Checkout against a real PostgreSQL: the rules, idempotency, and exact counters under
//! concurrent writers.

use rust_decimal::Decimal;
use store_core::domain::analytics::{self, Dashboard, Filter, Period};
use store_core::domain::checkout::{self, CustomerChoice, Sale};
use store_core::error::CheckoutError;
use store_core::seed::{self, SeedOptions};
use store_testkit::{TestDb, fresh_db};
use uuid::Uuid;

async fn demo_db() -> TestDb {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    db
}

fn sale(branch: &str, customer: CustomerChoice, products: &[i32]) -> Sale {
    let mut s = Sale::open(branch, customer);
    s.product_ids = products.to_vec();
    s
}

async fn purchases(db: &TestDb) -> i64 {
    db.store
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM purchase", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_database_computes_the_total_and_the_receipt_lists_the_lines() {
    let db = demo_db().await;
    let mut s = sale("SMKT002", CustomerChoice::new_customer(), &[3, 1, 10]);
    s.expected_total = Some("7.30".parse().unwrap());
    let receipt = checkout::submit(&db.store, &s).await.unwrap();
    assert_eq!(receipt.total_amount, Decimal::new(730, 2));
    assert!(!receipt.replayed);
    assert!(receipt.new_customer);
    let names: Vec<&str> = receipt.lines.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["milk", "eggs", "orange juice"]);
    let stored: Decimal = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT total_amount FROM purchase WHERE id = $1",
            &[&receipt.purchase_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, Decimal::new(730, 2));
}

#[tokio::test]
async fn the_same_sale_key_never_makes_a_second_purchase() {
    let db = demo_db().await;
    let before = purchases(&db).await;
    let s = sale("SMKT001", CustomerChoice::new_customer(), &[1, 2]);
    let first = checkout::submit(&db.store, &s).await.unwrap();
    let second = checkout::submit(&db.store, &s).await.unwrap();
    assert_eq!(first.purchase_id, second.purchase_id);
    assert!(second.replayed);
    assert_eq!(purchases(&db).await, before + 1);

    // Concurrent retries of one sale: still one purchase.
    let s = sale("SMKT003", CustomerChoice::new_customer(), &[4]);
    let attempts = (0..8).map(|_| {
        let store = db.store.clone();
        let s = s.clone();
        tokio::spawn(async move { checkout::submit(&store, &s).await })
    });
    let ids: Vec<i64> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().purchase_id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(purchases(&db).await, before + 2);
}

#[tokio::test]
async fn bad_sales_are_refused_with_clear_errors_and_write_nothing() {
    let db = demo_db().await;
    let before = purchases(&db).await;
    let new = CustomerChoice::new_customer;
    let cases: Vec<(Sale, CheckoutError)> = vec![
        (
            sale("SMKT009", new(), &[1]),
            CheckoutError::UnknownBranch("SMKT009".into()),
        ),
        (
            sale("SMKT001", new(), &[1, 99]),
            CheckoutError::UnknownProduct("99".into()),
        ),
        (
            sale("SMKT001", new(), &[1, 1]),
            CheckoutError::DuplicateProduct,
        ),
        (sale("SMKT001", new(), &[]), CheckoutError::EmptyCart),
    ];
    for (s, expected) in cases {
        assert_eq!(checkout::submit(&db.store, &s).await.unwrap_err(), expected);
    }
    let stranger = Uuid::new_v4();
    assert_eq!(
        checkout::submit(
            &db.store,
            &sale("SMKT001", CustomerChoice::Returning(stranger), &[1])
        )
        .await
        .unwrap_err(),
        CheckoutError::UnknownCustomer(stranger)
    );
    let mut s = sale("SMKT001", new(), &[1, 2]);
    s.expected_total = Some(Decimal::new(300, 2));
    assert_eq!(
        checkout::submit(&db.store, &s).await.unwrap_err(),
        CheckoutError::TotalMismatch {
            expected: Decimal::new(300, 2),
            actual: Decimal::new(350, 2)
        }
    );
    assert_eq!(purchases(&db).await, before);
    let customers: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM customer WHERE purchases = 0", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(customers, 0);
}

#[tokio::test]
async fn a_returning_customer_counts_towards_loyalty() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    let client = db.store.client().await.unwrap();
    let before = analytics::dashboard_from_counters(&client, 3, 0)
        .await
        .unwrap();
    let first = checkout::submit(
        &db.store,
        &sale("SMKT001", CustomerChoice::new_customer(), &[5]),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        checkout::submit(
            &db.store,
            &sale("SMKT002", CustomerChoice::Returning(first.user_id), &[6]),
        )
        .await
        .unwrap();
    }
    let after = analytics::dashboard_from_counters(&client, 3, 0)
        .await
        .unwrap();
    assert_eq!(after.unique_buyers, before.unique_buyers + 1);
    assert_eq!(after.loyal_buyers, before.loyal_buyers + 1);
}

#[tokio::test]
async fn concurrent_writers_leave_the_counters_equal_to_a_recount() {
    let db = demo_db().await;
    let demo_purchases = purchases(&db).await;
    let catalog = {
        let client = db.store.client().await.unwrap();
        store_core::domain::catalog::load_catalog(&client)
            .await
            .unwrap()
    };
    let branches: Vec<String> = catalog.branches.iter().map(|b| b.id.clone()).collect();
    // A shared pool of returning customers so that writers update the same customer rows.
    let regulars: Vec<Uuid> = {
        let client = db.store.client().await.unwrap();
        client
            .query(
                "SELECT user_id FROM customer ORDER BY user_id LIMIT 40",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let writers = (0..8u64).map(|w| {
        let store = db.store.clone();
        let branches = branches.clone();
        let regulars = regulars.clone();
        tokio::spawn(async move {
            for i in 0..500u64 {
                let n = w * 1000 + i;
                let customer = if n.is_multiple_of(3) {
                    CustomerChoice::new_customer()
                } else {
                    CustomerChoice::Returning(regulars[(n % regulars.len() as u64) as usize])
                };
                let products: Vec<i32> = (1..=10)
                    .filter(|p| (n + *p as u64).is_multiple_of(4) || *p == (n % 10) as i32 + 1)
                    .collect();
                let s = sale(&branches[(n % 3) as usize], customer, &products);
                checkout::submit(&store, &s).await.unwrap();
            }
        })
    });
    // Dashboards read (and fold queued sales) while the writers write.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = db.store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let client = store.client().await.unwrap();
                analytics::dashboard_from_counters(&client, 3, 10)
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
    for min in [1, 2, 3, 5, 10] {
        let fast = analytics::dashboard_from_counters(&client, min, 100)
            .await
            .unwrap();
        let recount = analytics::dashboard_from_rows(&client, &Filter::default(), min, 100)
            .await
            .unwrap();
        assert_eq!(fast.unique_buyers, recount.unique_buyers);
        assert_eq!(fast.loyal_buyers, recount.loyal_buyers, "min {min}");
        assert_eq!(fast.loyal_page, recount.loyal_page, "min {min}");
        assert_eq!(fast.top_products, recount.top_products);
        assert_eq!(fast.branches, recount.branches);
        for branch in &branches {
            let fast = analytics::dashboard_from_branch_counters(&client, branch, min, 100)
                .await
                .unwrap();
            let filter = Filter {
                supermarket_id: Some(branch.clone()),
                period: analytics::Period::AllTime,
                ..Filter::default()
            };
            let recount = analytics::dashboard_from_rows(&client, &filter, min, 100)
                .await
                .unwrap();
            assert_eq!(fast.unique_buyers, recount.unique_buyers, "{branch}");
            assert_eq!(
                fast.loyal_buyers, recount.loyal_buyers,
                "{branch} min {min}"
            );
            assert_eq!(fast.loyal_page, recount.loyal_page, "{branch} min {min}");
            assert_eq!(fast.top_products, recount.top_products, "{branch}");
            assert_eq!(fast.branches, recount.branches, "{branch}");
        }
    }
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new(),
        "the day-level counters equal a recount"
    );
    for period in [Period::Today, Period::Last7Days, Period::ThisMonth] {
        let filter = Filter {
            period,
            ..Filter::default()
        };
        let fast = analytics::dashboard(&client, &filter, 2, 100)
            .await
            .unwrap();
        let recount = analytics::dashboard_from_rows(&client, &filter, 2, 100)
            .await
            .unwrap();
        assert_eq!(
            Dashboard {
                generated_at: recount.generated_at,
                ..fast
            },
            recount,
            "{period:?}"
        );
    }
    assert_eq!(purchases(&db).await, demo_purchases + 4000);
}

#[tokio::test]
async fn a_tie_at_rank_three_includes_every_tied_product_and_nothing_below() {
    let db = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.csv"),
        "product_name,unit_price\na,1\nb,1\nc,1\nd,1\ne,1\n",
    )
    .unwrap();
    // Units: a 4, b 3, c 2, d 2, e 1 -> ranks 1, 2, 3, 3, 5.
    let rows = ["a,b,c,d,e", "a,b,c,d", "a,b", "a"];
    let mut csv = String::from("supermarket_id,timestamp,user_id,items_list,total_amount\n");
    for (i, items) in rows.iter().enumerate() {
        csv.push_str(&format!(
            "SMKT001,2025-05-0{}T10:00:00,{},\"{items}\",{}\n",
            i + 1,
            Uuid::new_v4(),
            items.split(',').count()
        ));
    }
    std::fs::write(dir.path().join("x.csv"), csv).unwrap();
    seed::seed(
        &db.store,
        &SeedOptions::from_files(dir.path().join("p.csv"), dir.path().join("x.csv")),
    )
    .await
    .unwrap();
    let client = db.store.client().await.unwrap();
    let report = analytics::report(&client, 3).await.unwrap();
    let top: Vec<(&str, i64, i64)> = report
        .top_products
        .iter()
        .map(|p| (p.name.as_str(), p.units, p.rank))
        .collect();
    assert_eq!(top, [("a", 4, 1), ("b", 3, 2), ("c", 2, 3), ("d", 2, 3)]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["top_products"][0],
        serde_json::json!({"product_id": 1, "name": "a", "units": 4})
    );
}

#[tokio::test]
async fn every_loyal_buyer_streams_in_list_order_for_any_filter() {
    let db = demo_db().await;
    let client = db.store.client().await.unwrap();
    for filter in [
        Filter::default(),
        Filter {
            supermarket_id: Some("SMKT002".into()),
            period: analytics::Period::AllTime,
            ..Filter::default()
        },
    ] {
        let mut streamed = Vec::new();
        let count = analytics::each_loyal_buyer(&client, &filter, 2, |b| {
            streamed.push(b.clone());
            Ok(())
        })
        .await
        .unwrap();
        let paged = analytics::loyal_buyers_page(&client, &filter, 2, 0, 1_000_000)
            .await
            .unwrap();
        assert!(!paged.is_empty());
        assert_eq!(count as usize, paged.len());
        assert_eq!(streamed, paged, "{filter:?}");
    }
}

/// Two attempts of one sale at the same moment: the second waits on the first one's
/// uncommitted key, and must then be answered with the first purchase, not refused. And two
/// different sales of one new customer at the same moment (their customer rows collide) must
/// both be recorded.
#[tokio::test]
async fn an_attempt_racing_an_uncommitted_first_attempt_gets_the_first_purchase() {
    let db = demo_db().await;
    let returning = CustomerChoice::Returning(
        checkout::submit(
            &db.store,
            &sale("SMKT002", CustomerChoice::new_customer(), &[3]),
        )
        .await
        .unwrap()
        .user_id,
    );
    let fresh = CustomerChoice::new_customer();
    for (customer, same_sale) in [
        (CustomerChoice::new_customer(), true),
        (returning, true),
        (fresh, false),
    ] {
        let before = purchases(&db).await;
        let s = sale("SMKT001", customer, &[1, 2]);
        let mut first_client = db.store.client().await.unwrap();
        let first = first_client.transaction().await.unwrap();
        let first_id = checkout::record_purchase(&first, &s)
            .await
            .unwrap()
            .purchase_id;

        let store = db.store.clone();
        let again = if same_sale {
            s.clone()
        } else {
            sale("SMKT003", customer, &[4])
        };
        let second = tokio::spawn(async move { checkout::submit(&store, &again).await });
        // Commit only once the second attempt waits on the first one's uncommitted row.
        let watcher = db.store.client().await.unwrap();
        loop {
            let waiting: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event = 'transactionid'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        first.commit().await.unwrap();

        let receipt = second.await.unwrap().unwrap();
        if same_sale {
            assert_eq!(receipt.purchase_id, first_id, "{customer:?}");
            assert!(receipt.replayed);
            assert_eq!(purchases(&db).await, before + 1);
        } else {
            assert_ne!(receipt.purchase_id, first_id);
            assert!(!receipt.replayed);
            assert_eq!(purchases(&db).await, before + 2);
        }
    }
}

/// How many rows each table a sale writes holds.
async fn written_rows(db: &TestDb) -> Vec<i64> {
    let client = db.store.client().await.unwrap();
    let mut counts = Vec::new();
    for table in [
        "purchase",
        "purchase_product",
        "customer",
        "purchase_unfolded",
    ] {
        counts.push(
            client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap()
                .get(0),
        );
    }
    counts
}

#[tokio::test]
async fn twenty_concurrent_replays_with_a_new_customer_leave_one_purchase_and_one_customer() {
    let db = demo_db().await;
    let before = written_rows(&db).await;
    let s = sale("SMKT002", CustomerChoice::new_customer(), &[2, 5, 9]);
    let attempts = (0..20).map(|_| {
        let store = db.store.clone();
        let s = s.clone();
        tokio::spawn(async move { checkout::submit(&store, &s).await })
    });
    let receipts: Vec<checkout::Receipt> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    let first = receipts.iter().find(|r| !r.replayed).unwrap();
    for r in &receipts {
        let mut r = r.clone();
        r.replayed = false;
        assert_eq!(&r, first);
    }
    let after = written_rows(&db).await;
    // One purchase, its three lines, one customer row, one queued sale.
    let written: Vec<i64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(written, [1, 3, 1, 1]);
    let customer_rows: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM customer WHERE user_id = $1",
            &[&s.customer.user_id()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(customer_rows, 1);
}

#[tokio::test]
async fn a_replay_writes_nothing_and_answers_with_the_purchase_as_stored() {
    let db = demo_db().await;
    let mut s = sale("SMKT001", CustomerChoice::new_customer(), &[1, 4]);
    s.sold_at = Some(chrono::Utc::now() - chrono::TimeDelta::days(2));
    let first = checkout::submit(&db.store, &s).await.unwrap();
    assert!(first.new_customer && !first.replayed);
    let before = written_rows(&db).await;

    // Prices change and the counters fold; the till sends the sale again, later, with the total
    // at the new prices and no time of its own.
    let client = db.store.client().await.unwrap();
    client
        .batch_execute("UPDATE product SET unit_price = unit_price + 1 WHERE id IN (1, 4)")
        .await
        .unwrap();
    analytics::fold(&client).await.unwrap();
    let folded = written_rows(&db).await;
    s.sold_at = None;
    s.expected_total = Some(first.total_amount + Decimal::new(2, 0));
    s.product_ids = vec![4, 1];
    let again = checkout::submit(&db.store, &s).await.unwrap();
    assert!(again.replayed);
    assert_eq!(
        written_rows(&db).await,
        folded,
        "the replay wrote something"
    );
    assert_eq!(folded[..3], before[..3]);
    let mut as_first = again.clone();
    as_first.replayed = false;
    assert_eq!(
        as_first, first,
        "the replay's receipt is not the stored purchase"
    );
    assert_eq!(again.total_amount, Decimal::new(800, 2));
    assert_eq!(
        again.lines.iter().map(|l| l.unit_price).collect::<Vec<_>>(),
        [Decimal::new(150, 2), Decimal::new(650, 2)]
    );
}

#[tokio::test]
async fn a_sale_key_reused_with_other_content_is_refused_and_writes_nothing() {
    let db = demo_db().await;
    let returning = checkout::submit(
        &db.store,
        &sale("SMKT003", CustomerChoice::new_customer(), &[7]),
    )
    .await
    .unwrap()
    .user_id;
    let original = sale("SMKT001", CustomerChoice::new_customer(), &[1, 2]);
    checkout::submit(&db.store, &original).await.unwrap();
    let before = written_rows(&db).await;
    let other_branch = Sale {
        supermarket_id: "SMKT002".into(),
        ..original.clone()
    };
    let other_new_customer = Sale {
        customer: CustomerChoice::new_customer(),
        ..original.clone()
    };
    let other_known_customer = Sale {
        customer: CustomerChoice::Returning(returning),
        ..original.clone()
    };
    let other_products = Sale {
        product_ids: vec![1, 3],
        ..original.clone()
    };
    let fewer_products = Sale {
        product_ids: vec![1],
        ..original.clone()
    };
    for reuse in [
        other_branch,
        other_new_customer,
        other_known_customer,
        other_products,
        fewer_products,
    ] {
        let e = checkout::submit(&db.store, &reuse).await.unwrap_err();
        assert_eq!(
            e,
            CheckoutError::SaleKeyReused(original.sale_key),
            "{reuse:?}"
        );
        assert!(e.is_business_refusal());
        assert!(
            e.to_string().contains("was already used for another sale"),
            "{e}"
        );
    }
    assert_eq!(written_rows(&db).await, before);
}

#[tokio::test]
async fn record_purchase_and_the_rust_rule_agree_on_sale_times_at_the_bounds() {
    use store_core::domain::sale_time::{self, MAX_AHEAD};
    let db = demo_db().await;
    let mut client = db.store.client().await.unwrap();
    let mut tx = client.transaction().await.unwrap();
    // now() is the transaction's start: the same instant for every call below.
    let now: chrono::DateTime<chrono::Utc> =
        tx.query_one("SELECT now()", &[]).await.unwrap().get(0);
    let micro = chrono::TimeDelta::microseconds(1);
    let cases = [
        sale_time::earliest(),
        sale_time::earliest() - micro,
        now - chrono::TimeDelta::days(40),
        now + MAX_AHEAD,
        now + MAX_AHEAD + micro,
        sale_time::constraint_latest(),
    ];
    for t in cases {
        let mut s = sale("SMKT001", CustomerChoice::new_customer(), &[3]);
        s.sold_at = Some(t);
        let attempt = tx.savepoint("attempt").await.unwrap();
        let result = checkout::record_purchase(&attempt, &s).await;
        match (sale_time::check(t, now), result) {
            (Ok(()), Ok(receipt)) => assert_eq!(receipt.created_at, t),
            (Err(_), Err(CheckoutError::ImplausibleTime(message))) => {
                assert!(message.contains("is not plausible"), "{message}");
            }
            (rule, database) => panic!("at {t}: the rule says {rule:?}, the database {database:?}"),
        }
        attempt.rollback().await.unwrap();
    }
    tx.rollback().await.unwrap();

    for t in ["infinity", "-infinity", "1999-12-31 23:59:59.999999+00"] {
        let e = client
            .query(
                "SELECT * FROM record_purchase(gen_random_uuid(), 'SMKT001', gen_random_uuid(), \
                 true, ARRAY[1], NULL, $1::text::timestamptz)",
                &[&t],
            )
            .await
            .unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("ICT02"), "{t}: {e:?}");
    }
}

#[tokio::test]
async fn the_check_constraint_keeps_every_other_path_inside_the_window() {
    let db = demo_db().await;
    let client = db.store.client().await.unwrap();
    for t in [
        "infinity",
        "-infinity",
        "1999-12-31 23:59:59.999999+00",
        "2100-01-01 00:00:00+00",
        "294276-01-01 00:00:00+00",
    ] {
        let e = client
            .execute(
                "INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount) \
                 VALUES ('SMKT001', $1::text::timestamptz, gen_random_uuid(), 1)",
                &[&t],
            )
            .await
            .unwrap_err();
        let db_error = e.as_db_error().unwrap();
        assert_eq!(db_error.code().code(), "23514", "{t}");
        assert_eq!(db_error.constraint(), Some("purchase_created_at_plausible"));
    }
    for t in ["2000-01-01 00:00:00+00", "2099-12-31 23:59:59.999999+00"] {
        client
            .execute(
                "INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount) \
                 VALUES ('SMKT001', $1::text::timestamptz, gen_random_uuid(), 1)",
                &[&t],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_stored_value_no_reader_can_decode_is_an_error_not_a_panic() {
    let db = demo_db().await;
    let client = db.store.client().await.unwrap();
    analytics::fold(&client).await.unwrap();
    // The counters have no window of their own: a value beyond what the program can represent.
    client
        .batch_execute(
            "INSERT INTO stat_branch_hourly (supermarket_id, hour, purchases, revenue) \
             VALUES ('SMKT001', 'infinity', 1, 1)",
        )
        .await
        .unwrap();
    let e = analytics::trend(&client, &Filter::default(), analytics::TrendBucket::Day)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("database error"), "{e}");
}

#[tokio::test]
async fn the_cli_replays_the_same_sale_and_exits_non_zero_when_its_key_is_reused_for_another() {
    let db = demo_db().await;
    let key = Uuid::new_v4().to_string();
    let purchase = |items: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_store-core"))
            .args(["purchase", "--supermarket", "SMKT001", "--user", "new"])
            .args(["--items", items, "--sale-key", &key, "--json"])
            .env("DATABASE_URL", &db.url)
            .output()
            .unwrap()
    };
    let first = purchase("milk");
    assert!(first.status.success(), "{first:?}");
    let before = written_rows(&db).await;
    // The same command again (`--user new` included): the same sale, answered as stored.
    let again = purchase("milk");
    assert!(again.status.success(), "{again:?}");
    let replay: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let original: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(replay["replayed"], true, "{replay}");
    assert_eq!(replay["purchase_id"], original["purchase_id"]);
    assert_eq!(replay["user_id"], original["user_id"]);
    assert_eq!(written_rows(&db).await, before);
    // Another sale under the same key is refused and writes nothing.
    let other = purchase("eggs");
    assert!(!other.status.success());
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(
        stderr.contains(&format!("sale key {key} was already used for another sale")),
        "{stderr}"
    );
    assert_eq!(written_rows(&db).await, before);
}

/// Tills recording sales across the three branches and a reader folding them, until stopped.
struct Traffic {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    fn start(store: &store_core::Store, writers: u32) -> Traffic {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks: Vec<_> = (0..writers)
            .map(|w| {
                let store = store.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let mut n = 0u32;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let branch = ["SMKT001", "SMKT002", "SMKT003"][((w + n) % 3) as usize];
                        let s = sale(
                            branch,
                            CustomerChoice::new_customer(),
                            &[1 + (n % 10) as i32],
                        );
                        checkout::submit(&store, &s).await.unwrap();
                        n += 1;
                    }
                })
            })
            .collect();
        let store = store.clone();
        let folder_stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let client = store.client().await.unwrap();
            while !folder_stop.load(std::sync::atomic::Ordering::Relaxed) {
                analytics::fold(&client).await.unwrap();
            }
        }));
        Traffic { stop, tasks }
    }

    async fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
    }
}

/// While sales are recorded and folded by others, every dashboard agrees with itself: its
/// figures come from one snapshot (without one, a fold committed between two of its queries
/// makes the loyal list and the branch totals disagree).
#[tokio::test]
async fn every_dashboard_is_one_snapshot_while_others_record_and_fold() {
    let db = demo_db().await;
    let traffic = Traffic::start(&db.store, 4);
    let client = db.store.client().await.unwrap();
    for _ in 0..40 {
        let d = analytics::dashboard_from_counters(&client, 1, i64::MAX)
            .await
            .unwrap();
        assert_eq!(d.loyal_page.len() as i64, d.unique_buyers);
        assert_eq!(d.loyal_buyers, d.unique_buyers);
        let listed: i64 = d.loyal_page.iter().map(|b| b.purchases).sum();
        assert_eq!(
            listed,
            d.purchases(),
            "the loyal list and the branch totals disagree"
        );
    }
    traffic.stop().await;
    // The connection was handed back outside the read-only transaction.
    let (isolation, read_only): (String, String) = {
        let r = client
            .query_one(
                "SELECT current_setting('transaction_isolation'), \
                 current_setting('transaction_read_only')",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(
        (isolation.as_str(), read_only.as_str()),
        ("read committed", "off")
    );
}

/// While sales are recorded and folded by others, the owner's screen agrees with itself, its
/// trend chart included: the chart's purchases and revenue add up to the branch totals read
/// with it, for the counters' views (all branches, one branch) and the rows' (today, a week).
#[tokio::test]
async fn the_trend_and_the_totals_on_one_screen_are_one_snapshot_while_others_record_and_fold() {
    let db = demo_db().await;
    // Every view below has sales of today from the start.
    for branch in ["SMKT001", "SMKT002", "SMKT003"] {
        checkout::submit(
            &db.store,
            &sale(branch, CustomerChoice::new_customer(), &[1]),
        )
        .await
        .unwrap();
    }
    let traffic = Traffic::start(&db.store, 3);
    let client = db.store.client().await.unwrap();
    let filters = [
        Filter::default(),
        Filter {
            supermarket_id: Some("SMKT002".into()),
            period: Period::AllTime,
            ..Filter::default()
        },
        Filter {
            supermarket_id: None,
            period: Period::Today,
            ..Filter::default()
        },
        Filter {
            supermarket_id: Some("SMKT001".into()),
            period: Period::Last7Days,
            ..Filter::default()
        },
    ];
    for round in 0..40 {
        let filter = &filters[round % filters.len()];
        let bucket = if round % 2 == 0 {
            analytics::TrendBucket::Hour
        } else {
            analytics::TrendBucket::Day
        };
        let (d, trend) = analytics::dashboard_with_trend(&client, filter, 1, 0, bucket)
            .await
            .unwrap();
        let charted: i64 = trend.iter().map(|p| p.purchases).sum();
        let charted_revenue: Decimal = trend.iter().map(|p| p.revenue).sum();
        assert_eq!(
            (charted, charted_revenue),
            (d.purchases(), d.revenue()),
            "the chart and the branch totals disagree for {filter:?}"
        );
        assert!(d.purchases() > 0, "{filter:?}");
    }
    traffic.stop().await;
    // The connection was handed back outside the read-only transaction.
    let r = client
        .query_one(
            "SELECT current_setting('transaction_isolation'), \
             current_setting('transaction_read_only')",
            &[],
        )
        .await
        .unwrap();
    let isolation: String = r.try_get(0).unwrap();
    let read_only: String = r.try_get(1).unwrap();
    assert_eq!(
        (isolation.as_str(), read_only.as_str()),
        ("read committed", "off")
    );
}

#[tokio::test]
async fn fold_purchases_folds_at_most_its_batch_and_fold_repeats_until_the_queue_is_empty() {
    let db = demo_db().await;
    let client = db.store.client().await.unwrap();
    analytics::fold(&client).await.unwrap();
    for _ in 0..5 {
        checkout::submit(
            &db.store,
            &sale("SMKT001", CustomerChoice::new_customer(), &[1]),
        )
        .await
        .unwrap();
    }
    let mut batches = Vec::new();
    for _ in 0..4 {
        let folded: i64 = client
            .query_one("SELECT fold_purchases(2)", &[])
            .await
            .unwrap()
            .get(0);
        batches.push(folded);
    }
    assert_eq!(batches, [2, 2, 1, 0]);
    let refused = client
        .query_one("SELECT fold_purchases(0)", &[])
        .await
        .unwrap_err();
    assert_eq!(refused.code().map(|c| c.code()), Some("22023"));

    // More than one batch queued (sales written the way record_purchase writes them): fold()
    // takes them all, and the counters still equal a recount.
    let backlog = i64::from(analytics::FOLD_BATCH) + 7;
    client
        .batch_execute(&format!(
            "WITH sale AS (
                 INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount)
                 SELECT 'SMKT002', now(), gen_random_uuid(), 1.50 FROM generate_series(1, {backlog})
                 RETURNING id
             ), line AS (
                 INSERT INTO purchase_product (purchase_id, product_id, unit_price)
                 SELECT id, 1, 1.50 FROM sale
             )
             INSERT INTO purchase_unfolded (purchase_id) SELECT id FROM sale"
        ))
        .await
        .unwrap();
    assert_eq!(analytics::fold(&client).await.unwrap(), backlog);
    let left: i64 = client
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let fast = analytics::dashboard_from_counters(&client, 1, 0)
        .await
        .unwrap();
    let recount = analytics::dashboard_from_rows(&client, &Filter::default(), 1, 0)
        .await
        .unwrap();
    assert_eq!(
        fast,
        Dashboard {
            generated_at: fast.generated_at,
            ..recount
        }
    );
    assert_eq!(left, 0);
}

/// A sale committed after a dashboard's fold commits and before its snapshot starts is in the
/// queue, not in the counters: the dashboard must still count it. dblink (a second session,
/// from a trigger on the fold's DELETE) commits such a sale while the fold is running, a moment
/// the test could not otherwise reach; the fold's own statement cannot see it.
#[tokio::test]
async fn a_sale_committed_just_after_the_fold_is_on_the_dashboard() {
    let db = demo_db().await;
    let client = db.store.client().await.unwrap();
    let dblink_target = db.url.replace('\'', "\\'");
    client
        .batch_execute(
            "CREATE EXTENSION dblink;
             CREATE TABLE test_sale_during_fold (pending boolean);
             INSERT INTO test_sale_during_fold VALUES (true);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    client
        .batch_execute(&format!(
            "CREATE FUNCTION test_sale_during_fold() RETURNS trigger
             LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
             DECLARE taken bigint;
             BEGIN
                 WITH t AS (DELETE FROM public.test_sale_during_fold RETURNING 1)
                 SELECT count(*) INTO taken FROM t;
                 IF taken > 0 THEN
                     PERFORM * FROM public.dblink('{dblink_target}',
                         'SELECT count(*) FROM public.record_purchase(gen_random_uuid(),
                            ''SMKT001'', gen_random_uuid(), true, ARRAY[1], NULL, NULL)')
                         AS sold(n int8);
                 END IF;
                 RETURN NULL;
             END $$;
             CREATE TRIGGER test_sale_during_fold AFTER DELETE ON public.purchase_unfolded
                 FOR EACH STATEMENT EXECUTE FUNCTION test_sale_during_fold();"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    // One queued sale, so that the fold has something to delete.
    checkout::submit(
        &db.store,
        &sale("SMKT002", CustomerChoice::new_customer(), &[2]),
    )
    .await
    .unwrap();
    let before = purchases(&db).await;
    let dashboard = analytics::dashboard_from_counters(&client, 1, 10)
        .await
        .unwrap();
    assert_eq!(
        purchases(&db).await,
        before + 1,
        "the trigger's sale landed"
    );
    let recount = analytics::dashboard_from_rows(&client, &Filter::default(), 1, 10)
        .await
        .unwrap();
    assert_eq!(dashboard.branches, recount.branches);
    assert_eq!(dashboard.unique_buyers, recount.unique_buyers);
    assert_eq!(dashboard.top_products, recount.top_products);
}

/// A server that refuses writes as read-only refuses them on every pooled connection: after a
/// refusal, none of them is kept, so that the next sale connects again (and, with several
/// hosts, looks for the primary).
#[tokio::test]
async fn a_read_only_refusal_empties_the_pool() {
    let db = demo_db().await;
    {
        let admin = deadpool_postgres::Object::take(db.store.client().await.unwrap());
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} SET default_transaction_read_only = on",
                db.name
            ))
            .await
            .unwrap();
    }
    let idle = futures_util::future::join_all((0..4).map(|_| db.store.client())).await;
    for client in &idle {
        let read_only: String = client
            .as_ref()
            .unwrap()
            .query_one("SHOW default_transaction_read_only", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(read_only, "on");
    }
    drop(idle);
    assert_eq!(db.store.pool().status().size, 4);
    let refused = checkout::submit(
        &db.store,
        &sale("SMKT001", CustomerChoice::new_customer(), &[1]),
    )
    .await;
    assert!(
        matches!(refused, Err(CheckoutError::Unavailable(ref m)) if m.contains("read-only")),
        "{refused:?}"
    );
    assert_eq!(db.store.pool().status().size, 0);
}
