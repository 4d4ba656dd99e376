//! Seeding against a real PostgreSQL: the assignment's data, bad input, idempotency.

use std::path::PathBuf;

use store_core::domain::analytics::{self, Dashboard, Filter};
use store_core::domain::time_zone::Tz;
use store_core::import::CsvSource;
use store_core::seed::{self, SeedOptions};
use store_testkit::{assignment_data_dir, fresh_db};

fn assignment(dir: &str) -> SeedOptions {
    let base = assignment_data_dir().join(dir);
    SeedOptions::from_files(base.join("products_list.csv"), base.join("purchases.csv"))
}

async fn count(store: &store_core::Store, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    store
        .client()
        .await
        .unwrap()
        .query_one(&sql, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_assignment_data_gives_the_known_answers_with_lf_and_crlf() {
    for dir in ["", "crlf-variant"] {
        let db = fresh_db().await;
        let report = seed::seed(&db.store, &assignment(dir)).await.unwrap();
        assert!(report.loaded);
        assert_eq!(report.purchases, 2183);
        assert_eq!(report.products, 10);
        assert_eq!(report.branches, 3);

        let client = db.store.client().await.unwrap();
        let r = analytics::report(&client, 3).await.unwrap();
        assert_eq!(r.unique_buyers, 1762, "{dir}");
        assert_eq!(r.loyal_buyers.len(), 142, "{dir}");
        let top: Vec<(&str, i64)> = r
            .top_products
            .iter()
            .map(|p| (p.name.as_str(), p.units))
            .collect();
        assert_eq!(
            top,
            [("milk", 1823), ("eggs", 1812), ("bread", 1777)],
            "{dir}"
        );

        let dashboard = analytics::dashboard_from_counters(&client, 3, 10)
            .await
            .unwrap();
        assert_eq!(dashboard.revenue().to_string(), "13608.90");
        let by_branch: Vec<String> = dashboard
            .branches
            .iter()
            .map(|b| format!("{} {} {}", b.supermarket_id, b.purchases, b.revenue))
            .collect();
        assert_eq!(
            by_branch,
            [
                "SMKT001 313 1936.20",
                "SMKT002 981 6152.70",
                "SMKT003 889 5520.00"
            ]
        );
        for branch in ["SMKT001", "SMKT002", "SMKT003"] {
            let filter = Filter {
                supermarket_id: Some(branch.into()),
                period: analytics::Period::AllTime,
                ..Filter::default()
            };
            let fast = analytics::dashboard(&client, &filter, 3, 10).await.unwrap();
            let rows = analytics::dashboard_from_rows(&client, &filter, 3, 10)
                .await
                .unwrap();
            assert_eq!(
                fast,
                Dashboard {
                    generated_at: fast.generated_at,
                    ..rows.clone()
                },
                "{branch}"
            );
        }
        let recount = analytics::dashboard_from_rows(&client, &Filter::default(), 3, 10)
            .await
            .unwrap();
        assert_eq!(
            (
                dashboard.unique_buyers,
                dashboard.loyal_buyers,
                &dashboard.loyal_page,
                &dashboard.top_products,
                &dashboard.branches
            ),
            (
                recount.unique_buyers,
                recount.loyal_buyers,
                &recount.loyal_page,
                &recount.top_products,
                &recount.branches
            )
        );
    }
}

#[tokio::test]
async fn seeding_twice_loads_nothing_the_second_time_and_reset_replaces() {
    let db = fresh_db().await;
    assert!(seed::seed(&db.store, &assignment("")).await.unwrap().loaded);
    let again = seed::seed(&db.store, &assignment("")).await.unwrap();
    assert!(!again.loaded);
    assert_eq!(count(&db.store, "purchase").await, 2183);

    let mut demo = SeedOptions::demo();
    demo.reset = true;
    let replaced = seed::seed(&db.store, &demo).await.unwrap();
    assert!(replaced.loaded);
    assert_eq!(
        count(&db.store, "purchase").await as u64,
        replaced.purchases
    );
    // Purchase ids continue after the load: a checkout does not collide with loaded rows.
    let next: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT nextval(pg_get_serial_sequence('purchase', 'id'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(next as u64, replaced.purchases + 1);
}

fn write_temp(contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("purchases.csv");
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

#[tokio::test]
async fn one_bad_row_at_the_end_loads_nothing_and_names_file_line_and_field() {
    let db = fresh_db().await;
    let good = std::fs::read_to_string(assignment_data_dir().join("purchases.csv")).unwrap();
    let bad = format!(
        "{good}SMKT001,2025-05-26T19:51:00.539354,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs,caviar\",4.5\n"
    );
    let (_dir, path) = write_temp(&bad);
    let options = SeedOptions {
        products: CsvSource::Path(assignment_data_dir().join("products_list.csv")),
        purchases: CsvSource::Path(path.clone()),
        reset: false,
        progress: false,
        zone: Tz::UTC,
    };
    let err = seed::seed(&db.store, &options)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}:2185: items_list: unknown product \"caviar\"",
            path.display()
        )
    );
    for table in [
        "purchase",
        "purchase_product",
        "customer",
        "product",
        "supermarket",
        "stat_product_units",
    ] {
        assert_eq!(count(&db.store, table).await, 0, "{table} must be empty");
    }
    // The keys dropped for the load are back.
    let keys: i64 = db
        .store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'purchase_product'::regclass AND contype IN ('p','f')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 3);
}

#[tokio::test]
async fn a_missing_file_is_a_clear_error() {
    let db = fresh_db().await;
    let options = SeedOptions::from_files("/nonexistent/p.csv".into(), "/nonexistent/x.csv".into());
    let err = seed::seed(&db.store, &options)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent/p.csv: "), "{err}");
}

/// The trend's daily figures, from the hourly counters, equal a count of the raw rows.
async fn assert_trend_equals_rows(store: &store_core::Store) {
    let client = store.client().await.unwrap();
    let trend = analytics::trend(&client, &Filter::default(), analytics::TrendBucket::Day)
        .await
        .unwrap();
    let from_counters: Vec<(chrono::DateTime<chrono::Utc>, i64, rust_decimal::Decimal)> = trend
        .iter()
        .map(|p| (p.bucket_start, p.purchases, p.revenue))
        .collect();
    let from_rows: Vec<(chrono::DateTime<chrono::Utc>, i64, rust_decimal::Decimal)> = client
        .query(
            "SELECT date_trunc('day', created_at, 'UTC'), count(*), sum(total_amount) \
             FROM purchase GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(!from_rows.is_empty());
    assert_eq!(from_counters, from_rows);
}

#[tokio::test]
async fn the_trend_counters_equal_the_rows_after_seeding_and_after_sales() {
    let db = fresh_db().await;
    seed::seed(&db.store, &SeedOptions::demo()).await.unwrap();
    assert_trend_equals_rows(&db.store).await;
    for branch in ["SMKT001", "SMKT002", "SMKT001"] {
        let mut sale = store_core::domain::checkout::Sale::open(
            branch,
            store_core::domain::checkout::CustomerChoice::new_customer(),
        );
        sale.product_ids = vec![1, 4];
        store_core::domain::checkout::submit(&db.store, &sale)
            .await
            .unwrap();
    }
    assert_trend_equals_rows(&db.store).await;
}
