//! The chain's time zone against a real PostgreSQL: naive CSV times read on the chain's clock by
//! the server's own rule, days of 23 and 25 hours on the charts, and "today" from local midnight.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use store_core::domain::analytics::{self, Filter, Period, TrendBucket};
use store_core::domain::checkout::{self, CustomerChoice, Sale};
use store_core::domain::time_zone::{self, Tz};
use store_core::import::CsvSource;
use store_core::seed::{self, SeedOptions};
use store_testkit::fresh_db;

const PRODUCTS: &str = "product_name,unit_price\nmilk,1.50\nbread,2.00\n";

fn leak(text: String) -> &'static [u8] {
    Box::leak(text.into_bytes().into_boxed_slice())
}

fn options(purchases: &str, zone: Tz) -> SeedOptions {
    SeedOptions {
        products: CsvSource::Bytes {
            name: "products.csv".into(),
            bytes: PRODUCTS.as_bytes(),
        },
        purchases: CsvSource::Bytes {
            name: "purchases.csv".into(),
            bytes: leak(format!(
                "supermarket_id,timestamp,user_id,items_list,total_amount\n{purchases}"
            )),
        },
        reset: false,
        progress: false,
        zone,
    }
}

fn row(branch: &str, time: &str, n: u32) -> String {
    format!("{branch},{time},00000000-0000-4000-8000-{n:012},milk,1.50\n")
}

fn paris_day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    time_zone::start_of_date(NaiveDate::from_ymd_opt(y, m, d).unwrap(), Tz::Europe__Paris)
}

/// Sales on both sides of the two nights Paris changes its clocks in 2025, on Paris's clock.
fn around_the_clock_changes() -> String {
    [
        "2025-03-30T00:30:00", // the 23-hour day: 2025-03-29 23:30 UTC
        "2025-03-30T23:30:00", // 21:30 UTC
        "2025-03-31T00:30:00", // 2025-03-30 22:30 UTC, the next Paris day
        "2025-10-26T00:30:00", // the 25-hour day: 2025-10-25 22:30 UTC
        "2025-10-26T23:30:00", // 22:30 UTC
        "2025-10-27T00:10:00", // 2025-10-26 23:10 UTC, the next Paris day
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| row(if i % 2 == 0 { "SMKT001" } else { "SMKT002" }, t, i as u32))
    .collect()
}

#[tokio::test]
async fn naive_times_are_read_like_postgresql_reads_them() {
    let db = fresh_db().await;
    let client = db.store.client().await.unwrap();
    let samples = [
        ("2025-03-30 02:30:00", Tz::Europe__Paris), // skipped by the spring change
        ("2025-10-26 02:30:00", Tz::Europe__Paris), // repeated by the autumn change
        ("2025-03-09 02:30:00", Tz::America__New_York), // skipped
        ("2025-11-02 01:30:00", Tz::America__New_York), // repeated
        ("2025-10-05 02:15:00", Tz::Australia__Adelaide), // skipped, a half-hour zone
        ("2025-06-01 12:00:00", Tz::Asia__Kolkata),
        ("2025-06-01 12:00:00", Tz::UTC),
    ];
    for (text, zone) in samples {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
        let server: DateTime<Utc> = client
            .query_one(
                "SELECT ($1::timestamp AT TIME ZONE $2)::timestamptz",
                &[&naive, &zone.name()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            time_zone::local_to_utc(naive, zone),
            server,
            "{text} in {zone}"
        );
    }
}

#[tokio::test]
async fn the_days_of_the_chart_are_the_chains_days_of_23_and_25_hours() {
    let db = fresh_db().await;
    seed::seed(
        &db.store,
        &options(&around_the_clock_changes(), Tz::Europe__Paris),
    )
    .await
    .unwrap();
    let client = db.store.client().await.unwrap();
    let expected = vec![
        (paris_day(2025, 3, 30), 2),
        (paris_day(2025, 3, 31), 1),
        (paris_day(2025, 10, 26), 2),
        (paris_day(2025, 10, 27), 1),
    ];
    assert_eq!(
        expected[0].0,
        Utc.with_ymd_and_hms(2025, 3, 29, 23, 0, 0).unwrap()
    );
    assert_eq!(
        expected[2].0,
        Utc.with_ymd_and_hms(2025, 10, 25, 22, 0, 0).unwrap()
    );
    let days = |trend: Vec<analytics::TrendPoint>| {
        trend
            .into_iter()
            .map(|p| (p.bucket_start, p.purchases))
            .collect::<Vec<_>>()
    };
    // The whole chain from the hourly counters, through both entry points.
    let chain = Filter::everything_in(Tz::Europe__Paris);
    let (dashboard, trend) =
        analytics::dashboard_with_trend(&client, &chain, 3, 10, TrendBucket::Day)
            .await
            .unwrap();
    assert_eq!(dashboard.purchases(), 6);
    assert_eq!(days(trend), expected);
    let trend = analytics::trend(&client, &chain, TrendBucket::Day)
        .await
        .unwrap();
    assert_eq!(days(trend), expected);
    // One branch, from its counters.
    let branch = Filter {
        supermarket_id: Some("SMKT001".into()),
        ..chain.clone()
    };
    let (_, trend) = analytics::dashboard_with_trend(&client, &branch, 3, 10, TrendBucket::Day)
        .await
        .unwrap();
    assert_eq!(
        days(trend),
        vec![
            (paris_day(2025, 3, 30), 1),
            (paris_day(2025, 3, 31), 1),
            (paris_day(2025, 10, 26), 1)
        ]
    );
    // The same sales cut into UTC days.
    let (_, trend) =
        analytics::dashboard_with_trend(&client, &Filter::default(), 3, 10, TrendBucket::Day)
            .await
            .unwrap();
    let utc_day = |m, d| Utc.with_ymd_and_hms(2025, m, d, 0, 0, 0).unwrap();
    assert_eq!(
        days(trend),
        vec![
            (utc_day(3, 29), 1),
            (utc_day(3, 30), 2),
            (utc_day(10, 25), 1),
            (utc_day(10, 26), 2)
        ]
    );
}

#[tokio::test]
async fn a_half_hour_zone_cuts_its_days_from_the_rows() {
    let db = fresh_db().await;
    // 23:45 and 00:15 in Kolkata (+05:30): 18:15 and 18:45 UTC, on both sides of its midnight.
    let purchases = [
        row("SMKT001", "2025-06-01T23:45:00", 1),
        row("SMKT001", "2025-06-02T00:15:00", 2),
    ]
    .concat();
    seed::seed(&db.store, &options(&purchases, Tz::Asia__Kolkata))
        .await
        .unwrap();
    let client = db.store.client().await.unwrap();
    let kolkata = Filter::everything_in(Tz::Asia__Kolkata);
    let (_, trend) = analytics::dashboard_with_trend(&client, &kolkata, 3, 10, TrendBucket::Day)
        .await
        .unwrap();
    let day = |d| {
        time_zone::start_of_date(
            NaiveDate::from_ymd_opt(2025, 6, d).unwrap(),
            Tz::Asia__Kolkata,
        )
    };
    assert_eq!(
        trend
            .iter()
            .map(|p| (p.bucket_start, p.purchases))
            .collect::<Vec<_>>(),
        vec![(day(1), 1), (day(2), 1)]
    );
    assert_eq!(day(2), Utc.with_ymd_and_hms(2025, 6, 1, 18, 30, 0).unwrap());
}

#[tokio::test]
async fn today_begins_at_midnight_on_the_chains_clock() {
    let db = fresh_db().await;
    seed::seed(
        &db.store,
        &options(&row("SMKT001", "2025-06-01T12:00:00", 1), Tz::UTC),
    )
    .await
    .unwrap();
    let now = Utc::now();
    for zone in [Tz::Asia__Tokyo, Tz::America__New_York] {
        let midnight = time_zone::start_of_day(now, zone);
        // The last second of yesterday and the first of today, on this zone's clock.
        for at in [midnight - TimeDelta::seconds(1), midnight] {
            let mut sale = Sale::open("SMKT001", CustomerChoice::new_customer());
            sale.product_ids = vec![1];
            sale.sold_at = Some(at);
            checkout::submit(&db.store, &sale).await.unwrap();
        }
        let client = db.store.client().await.unwrap();
        let today = Filter {
            period: Period::Today,
            ..Filter::everything_in(zone)
        };
        let (dashboard, trend) =
            analytics::dashboard_with_trend(&client, &today, 3, 10, TrendBucket::Hour)
                .await
                .unwrap();
        // Only this zone's first second of today is today's; the other zone's sales fall on
        // one side or the other of it, and are counted as such.
        let sales_since: i64 = client
            .query_one(
                "SELECT count(*) FROM purchase WHERE created_at >= $1",
                &[&midnight],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(dashboard.purchases(), sales_since, "{zone}");
        assert!(dashboard.purchases() >= 1, "{zone}");
        assert_eq!(trend.iter().map(|p| p.purchases).sum::<i64>(), sales_since);
        assert!(trend.iter().all(|p| p.bucket_start >= midnight), "{zone}");
        assert_eq!(
            today.label(),
            format!("all branches · today ({})", zone.name())
        );
    }
}

#[tokio::test]
async fn a_branchs_own_zone_is_read_with_the_catalog_and_an_unknown_one_is_the_chains() {
    let db = fresh_db().await;
    seed::seed(
        &db.store,
        &options(&around_the_clock_changes(), Tz::Europe__Paris),
    )
    .await
    .unwrap();
    let client = db.store.client().await.unwrap();
    // Written behind the functions' back: a name this program's zone database lacks.
    client
        .batch_execute(
            "UPDATE supermarket SET timezone = 'Asia/Tokyo' WHERE id = 'SMKT001'; \
             UPDATE supermarket SET timezone = 'Mars/Olympus' WHERE id = 'SMKT002'",
        )
        .await
        .unwrap();
    let catalog = store_core::domain::catalog::load_catalog(&client)
        .await
        .unwrap();
    assert_eq!(
        catalog
            .branches
            .into_iter()
            .map(|b| (b.id, b.timezone))
            .collect::<Vec<_>>(),
        vec![
            ("SMKT001".to_string(), Some(Tz::Asia__Tokyo)),
            ("SMKT002".to_string(), None)
        ]
    );
}
