//! The owner's insights against a real PostgreSQL: every figure for any period equals a count
//! made here from the sales themselves (a model in Rust), in zones with whole-hour and half-hour
//! offsets, across a day the clocks change and at 23:59 / 00:00 local, with some sales folded
//! into the counters and some still queued.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Timelike, Utc};
use rust_decimal::Decimal;
use store_core::domain::analytics::{self, Filter, Period, PeriodSummary};
use store_core::domain::time_zone::{self, Tz};
use store_testkit::fresh_db;
use uuid::Uuid;

const PRICES: [(i32, &str, &str); 5] = [
    (1, "milk", "1.50"),
    (2, "bread", "2.00"),
    (3, "eggs", "0.99"),
    (4, "coffee", "5.25"),
    (5, "apples", "3.10"),
];
const BRANCHES: [&str; 3] = ["SMKT001", "SMKT002", "SMKT003"];
const ZONES: [Tz; 4] = [
    Tz::UTC,
    Tz::Europe__Paris,
    Tz::Asia__Kolkata,
    Tz::America__New_York,
];

#[derive(Clone, Debug)]
struct Sold {
    branch: &'static str,
    at: DateTime<Utc>,
    user: Uuid,
    products: Vec<i32>,
    till: Option<String>,
    cashier: Option<i32>,
}

impl Sold {
    fn total(&self) -> Decimal {
        self.products.iter().map(|p| price(*p)).sum()
    }
}

fn price(product: i32) -> Decimal {
    PRICES
        .iter()
        .find(|p| p.0 == product)
        .unwrap()
        .2
        .parse()
        .unwrap()
}

/// Deterministic: a small linear congruential generator.
struct Dice(u64);
impl Dice {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn local(zone: Tz, y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    time_zone::local_to_utc(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, s)
            .unwrap(),
        zone,
    )
}

fn history() -> Vec<Sold> {
    let mut dice = Dice(16);
    let start = Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap();
    let mut times: Vec<DateTime<Utc>> = (0..700)
        .map(|_| start + TimeDelta::seconds(dice.next(61 * 86_400) as i64))
        .collect();
    // The edges of local days, in every zone: the last second of a day and the first of the
    // next, around the nights Paris (10-26) and New York (11-02) change their clocks.
    for zone in ZONES {
        for (m, d) in [(10, 25), (10, 26), (11, 1), (11, 2), (11, 15)] {
            times.push(local(zone, 2025, m, d, 23, 59, 59));
            times.push(local(zone, 2025, m, d, 0, 0, 0));
            times.push(local(zone, 2025, m, d, 23, 59, 0));
        }
    }
    times
        .into_iter()
        .map(|at| {
            let n = 1 + dice.next(4) as usize;
            let mut products: Vec<i32> = (1..=5).collect();
            for i in 0..5 {
                products.swap(i, dice.next(5) as usize);
            }
            products.truncate(n);
            let till_no = dice.next(4);
            Sold {
                branch: BRANCHES[dice.next(3) as usize],
                at,
                user: Uuid::from_u128(1 + dice.next(60) as u128),
                products,
                till: (till_no > 0).then(|| format!("T{till_no:02}")),
                cashier: [None, Some(7), Some(8)][dice.next(3) as usize],
            }
        })
        .collect()
}

async fn write(client: &deadpool_postgres::Client, sales: &[Sold]) {
    let insert = client
        .prepare(
            "WITH p AS (INSERT INTO purchase (supermarket_id, created_at, user_id, total_amount, till, cashier) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id), \
             l AS (INSERT INTO purchase_product (purchase_id, product_id, unit_price) \
               SELECT p.id, x, pr.unit_price FROM p, unnest($7::int4[]) x JOIN product pr ON pr.id = x) \
             INSERT INTO purchase_unfolded (purchase_id) SELECT id FROM p",
        )
        .await
        .unwrap();
    for s in sales {
        client
            .execute(
                &insert,
                &[
                    &s.branch,
                    &s.at,
                    &s.user,
                    &s.total(),
                    &s.till,
                    &s.cashier,
                    &s.products,
                ],
            )
            .await
            .unwrap();
    }
}

async fn shop() -> (store_testkit::TestDb, Vec<Sold>) {
    let db = fresh_db().await;
    let client = db.store.client().await.unwrap();
    for b in BRANCHES {
        client
            .execute("INSERT INTO supermarket (id, name) VALUES ($1, $1)", &[&b])
            .await
            .unwrap();
    }
    for (id, name, price) in PRICES {
        client
            .execute(
                "INSERT INTO product (id, name, unit_price) VALUES ($1, $2, $3::text::numeric)",
                &[&id, &name, &price],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute("INSERT INTO cashier (number, name) VALUES (7, 'Ada'), (8, 'Bo')")
        .await
        .unwrap();
    let sales = history();
    // Most are folded into the counters; the last ones stay queued.
    let (folded, queued) = sales.split_at(sales.len() - 60);
    write(&client, folded).await;
    analytics::fold(&client).await.unwrap();
    write(&client, queued).await;
    (db, sales)
}

/// Cashier 9, a manager whose PIN the database checks.
async fn make_manager_with_pin(client: &deadpool_postgres::Client) {
    store_core::domain::cashier::add_cashier_with(
        client,
        MANAGER,
        "Grace",
        Some(MANAGER_PIN),
        true,
    )
    .await
    .unwrap();
}

const MANAGER: i32 = 9;
const MANAGER_PIN: &str = "2468";

/// A void is of a sale of the calling till's open shift: puts `purchase_id` in T01's.
async fn in_the_open_shift_of_t01(client: &deadpool_postgres::Client, purchase_id: i64) {
    client
        .execute(
            "WITH s AS (INSERT INTO shift (till, opened_at) VALUES ('T01', '2000-01-01') \
               ON CONFLICT (till) WHERE closed_at IS NULL DO NOTHING RETURNING id) \
             UPDATE purchase SET shift_id = coalesce((SELECT id FROM s), \
               (SELECT id FROM shift WHERE till = 'T01' AND closed_at IS NULL)) WHERE id = $1",
            &[&purchase_id],
        )
        .await
        .unwrap();
}

fn covered<'a>(
    sales: &'a [Sold],
    branch: Option<&'a str>,
    bounds: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> impl Iterator<Item = &'a Sold> + 'a {
    sales.iter().filter(move |s| {
        branch.is_none_or(|b| s.branch == b)
            && bounds.is_none_or(|(start, end)| s.at >= start && s.at < end)
    })
}

fn expected_summary(sales: &[&Sold]) -> (i64, Decimal, i64, i64) {
    (
        sales.len() as i64,
        sales.iter().map(|s| s.total()).sum(),
        sales.iter().map(|s| s.products.len() as i64).sum(),
        sales.iter().map(|s| s.user).collect::<BTreeSet<_>>().len() as i64,
    )
}

fn summary_figures(s: &PeriodSummary) -> (i64, Decimal, i64, i64) {
    (s.purchases, s.revenue, s.items, s.unique_buyers)
}

fn periods() -> Vec<Period> {
    let date = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
    vec![
        Period::AllTime,
        Period::Today,
        Period::Yesterday,
        Period::Last7Days,
        Period::Last30Days,
        Period::ThisMonth,
        Period::Range {
            from: date(10, 26),
            to: date(10, 26),
        },
        Period::Range {
            from: date(11, 2),
            to: date(11, 2),
        },
        Period::Range {
            from: date(10, 20),
            to: date(11, 5),
        },
        Period::Range {
            from: date(9, 1),
            to: date(12, 31),
        },
    ]
}

#[tokio::test]
async fn every_insight_equals_a_count_of_the_sales_in_any_zone_and_period() {
    let (db, sales) = shop().await;
    let client = db.store.client().await.unwrap();
    insights_equal_the_model(&client, &sales, &[]).await;
}

/// A refund slip in the model: its purchase's branch and time, and its amount.
struct Refunded {
    branch: &'static str,
    at: DateTime<Utc>,
    amount: Decimal,
}

/// Every insight, for every zone, period and two branch choices, equals a count of `sales`.
async fn insights_equal_the_model(
    client: &deadpool_postgres::Client,
    sales: &[Sold],
    refunds: &[Refunded],
) {
    // "Now" on the day New York changes its clocks.
    let now = Utc.with_ymd_and_hms(2025, 11, 2, 15, 0, 0).unwrap();
    for zone in ZONES {
        for period in periods() {
            for branch in [None, Some("SMKT002")] {
                let filter = Filter {
                    supermarket_id: branch.map(String::from),
                    period,
                    zone,
                };
                let what = format!("{period:?} in {zone} for {branch:?}");
                let got = analytics::insights(client, &filter, now).await.unwrap();
                let bounds = period.bounds(now, zone);
                let inside: Vec<&Sold> = covered(sales, branch, bounds).collect();
                let slips: Vec<&Refunded> = refunds
                    .iter()
                    .filter(|r| {
                        branch.is_none_or(|b| r.branch == b)
                            && bounds.is_none_or(|(start, end)| r.at >= start && r.at < end)
                    })
                    .collect();
                assert_eq!(
                    (got.summary.refunds, got.summary.refunded),
                    (
                        slips.len() as i64,
                        slips.iter().map(|r| r.amount).sum::<Decimal>()
                    ),
                    "{what}: refunds"
                );
                assert_eq!(
                    summary_figures(&got.summary),
                    expected_summary(&inside),
                    "{what}"
                );
                let before = period
                    .previous(now, zone)
                    .map(|p| covered(sales, branch, p.bounds(now, zone)).collect::<Vec<_>>());
                assert_eq!(
                    got.previous.as_ref().map(summary_figures),
                    before.as_deref().map(expected_summary),
                    "{what}: the previous period"
                );
                if let Some(avg) = got.summary.avg_basket {
                    let (n, revenue, _, _) = expected_summary(&inside);
                    // Half a cent rounds up, as on a till.
                    let exact = revenue / Decimal::from(n);
                    let rounded = exact.round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    );
                    assert_eq!(avg, rounded, "{what}");
                }
                // Products: units and revenue.
                let mut products: BTreeMap<i32, (i64, Decimal)> = BTreeMap::new();
                for s in &inside {
                    for p in &s.products {
                        let e = products.entry(*p).or_default();
                        e.0 += 1;
                        e.1 += price(*p);
                    }
                }
                let got_products: BTreeMap<i32, (i64, Decimal)> = got
                    .products
                    .iter()
                    .map(|p| (p.product_id, (p.units, p.revenue)))
                    .collect();
                assert_eq!(got_products, products, "{what}: products");
                assert!(
                    got.products
                        .windows(2)
                        .all(|w| (w[0].units, w[0].revenue) >= (w[1].units, w[1].revenue)),
                    "{what}: products by units, then revenue"
                );
                // The heat map, in the zone's weekdays and hours.
                let mut heat = [[0i64; 24]; 7];
                for s in &inside {
                    let t = s.at.with_timezone(&zone);
                    heat[t.weekday().num_days_from_monday() as usize][t.hour() as usize] += 1;
                }
                assert_eq!(got.heat_map.purchases, heat, "{what}: heat map");
                // Tills and cashiers.
                let mut tills: BTreeMap<Option<String>, (i64, Decimal)> = BTreeMap::new();
                let mut cashiers: BTreeMap<Option<i32>, (i64, Decimal)> = BTreeMap::new();
                for s in &inside {
                    let t = tills.entry(s.till.clone()).or_default();
                    t.0 += 1;
                    t.1 += s.total();
                    let c = cashiers.entry(s.cashier).or_default();
                    c.0 += 1;
                    c.1 += s.total();
                }
                let got_tills: BTreeMap<_, _> = got
                    .tills
                    .iter()
                    .map(|t| (t.till.clone(), (t.purchases, t.revenue)))
                    .collect();
                assert_eq!(got_tills, tills, "{what}: tills");
                let got_cashiers: BTreeMap<_, _> = got
                    .cashiers
                    .iter()
                    .map(|c| (c.cashier, (c.purchases, c.revenue)))
                    .collect();
                assert_eq!(got_cashiers, cashiers, "{what}: cashiers");
                for c in &got.cashiers {
                    let name = match c.cashier {
                        Some(7) => Some("Ada"),
                        Some(8) => Some("Bo"),
                        _ => None,
                    };
                    assert_eq!(c.name.as_deref(), name, "{what}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_dashboard_of_a_range_of_days_equals_the_recount() {
    let (db, sales) = shop().await;
    let client = db.store.client().await.unwrap();
    for zone in ZONES {
        for period in periods()
            .into_iter()
            .filter(|p| matches!(p, Period::Range { .. }))
        {
            for branch in [None, Some("SMKT003")] {
                let filter = Filter {
                    supermarket_id: branch.map(String::from),
                    period,
                    zone,
                };
                let what = format!("{period:?} in {zone} for {branch:?}");
                let (d, trend) = analytics::dashboard_with_trend(
                    &client,
                    &filter,
                    2,
                    1000,
                    analytics::TrendBucket::Day,
                )
                .await
                .unwrap();
                let recount = analytics::dashboard_from_rows(&client, &filter, 2, 1000)
                    .await
                    .unwrap();
                assert_eq!(
                    (
                        &d.loyal_page,
                        &d.top_products,
                        &d.branches,
                        d.unique_buyers,
                        d.loyal_buyers
                    ),
                    (
                        &recount.loyal_page,
                        &recount.top_products,
                        &recount.branches,
                        recount.unique_buyers,
                        recount.loyal_buyers
                    ),
                    "{what}"
                );
                let inside: Vec<&Sold> =
                    covered(&sales, branch, period.bounds(Utc::now(), zone)).collect();
                assert_eq!(d.purchases(), inside.len() as i64, "{what}");
                assert_eq!(
                    d.revenue(),
                    inside.iter().map(|s| s.total()).sum::<Decimal>(),
                    "{what}"
                );
                let charted: i64 = trend.iter().map(|p| p.purchases).sum();
                assert_eq!(charted, d.purchases(), "{what}: the chart");
                let per_user = inside
                    .iter()
                    .fold(BTreeMap::<Uuid, i64>::new(), |mut m, s| {
                        *m.entry(s.user).or_default() += 1;
                        m
                    });
                assert_eq!(d.unique_buyers, per_user.len() as i64, "{what}");
                assert_eq!(
                    d.loyal_buyers,
                    per_user.values().filter(|n| **n >= 2).count() as i64,
                    "{what}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_day_counters_equal_a_recount_before_and_after_the_queue_is_folded() {
    let (db, _) = shop().await;
    let client = db.store.client().await.unwrap();
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new()
    );
    let queued: i64 = client
        .query_one("SELECT count(*) FROM purchase_unfolded", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(queued, 60);
    // The check sees a wrong counter.
    client
        .batch_execute("UPDATE stat_branch_product_daily SET units = units + 1 WHERE product_id = 3 AND day = '2025-10-26'")
        .await
        .unwrap();
    let wrong = analytics::day_counter_differences(&client).await.unwrap();
    assert!(
        !wrong.is_empty()
            && wrong
                .iter()
                .all(|w| w.starts_with("stat_branch_product_daily ")),
        "{wrong:?}"
    );
    client
        .batch_execute("UPDATE stat_branch_product_daily SET units = units - 1 WHERE product_id = 3 AND day = '2025-10-26'")
        .await
        .unwrap();
    analytics::fold(&client).await.unwrap();
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_customer_drill_down_shows_their_purchases_branches_and_visits() {
    let (db, sales) = shop().await;
    let client = db.store.client().await.unwrap();
    let user = Uuid::from_u128(5);
    let theirs: Vec<&Sold> = sales.iter().filter(|s| s.user == user).collect();
    assert!(theirs.len() > 3);
    let detail = analytics::customer_detail(&client, user, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.purchases, theirs.len() as i64);
    assert_eq!(
        detail.total_spent,
        theirs.iter().map(|s| s.total()).sum::<Decimal>()
    );
    assert_eq!(detail.first_visit, theirs.iter().map(|s| s.at).min());
    assert_eq!(detail.last_visit, theirs.iter().map(|s| s.at).max());
    let mut branches: BTreeMap<String, i64> = BTreeMap::new();
    for s in &theirs {
        *branches.entry(s.branch.to_string()).or_default() += 1;
    }
    let got: BTreeMap<String, i64> = detail.branches.iter().cloned().collect();
    assert_eq!(got, branches);
    assert!(detail.branches.windows(2).all(|w| w[0].1 >= w[1].1));
    assert_eq!(detail.visits.len(), 3);
    assert_eq!(Some(detail.visits[0].created_at), detail.last_visit);
    assert!(
        detail
            .visits
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at)
    );
    let newest = theirs.iter().max_by_key(|s| s.at).unwrap();
    assert_eq!(detail.visits[0].items, newest.products.len() as i64);
    assert_eq!(detail.visits[0].total, newest.total());
    assert_eq!(
        analytics::customer_detail(&client, Uuid::from_u128(999), 3)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn voids_and_refunds_leave_every_figure_equal_to_a_count_of_what_stays_sold() {
    use store_core::domain::refund::{self, RefundRequest, VoidRequest};
    let (db, mut sales) = shop().await;
    let client = db.store.client().await.unwrap();
    make_manager_with_pin(&client).await;
    // Purchase ids follow the order the sales were written in (the last 60 still queued).
    let ids: Vec<i64> = client
        .query("SELECT id FROM purchase ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids.len(), sales.len());
    let mut voided = Vec::new();
    let mut refunds = Vec::new();
    // Voids and refunds among the folded sales, the edge-of-day ones and the queued ones.
    for (n, index) in [3usize, 40, 700, 705, 712, sales.len() - 5, sales.len() - 1]
        .into_iter()
        .enumerate()
    {
        let s = &sales[index];
        let request = VoidRequest {
            void_key: Uuid::new_v4(),
            purchase_id: ids[index],
            till: "T01".into(),
            cashier: Some(8),
            manager: MANAGER,
            manager_pin: refund::ManagerPin::new(MANAGER_PIN),
            reason: format!("void {n}"),
        };
        if n % 2 == 0 {
            in_the_open_shift_of_t01(&client, ids[index]).await;
            refund::void_purchase(&db.store, &request).await.unwrap();
            voided.push(index);
        } else {
            // A refund of the first line (a whole refund when the sale has one line).
            let product = s.products[0];
            let r = refund::refund_purchase(
                &db.store,
                &RefundRequest {
                    refund_key: Uuid::new_v4(),
                    purchase_id: ids[index],
                    product_ids: vec![product],
                    till: "T01".into(),
                    cashier: Some(8),
                    manager: MANAGER,
                    manager_pin: refund::ManagerPin::new(MANAGER_PIN),
                    reason: format!("refund {n}"),
                },
            )
            .await
            .unwrap();
            assert_eq!(r.amount, price(product));
            refunds.push(Refunded {
                branch: s.branch,
                at: s.at,
                amount: r.amount,
            });
            sales[index].products.retain(|p| *p != product);
        }
    }
    for index in voided.into_iter().rev() {
        sales.remove(index);
    }
    // A sale whose every line was refunded still counts as a purchase (of nothing).
    assert_eq!(
        analytics::day_counter_differences(&client).await.unwrap(),
        Vec::<String>::new()
    );
    // The chart too: an hour whose only sale was voided has no point, as in the recount.
    for bucket in [analytics::TrendBucket::Hour, analytics::TrendBucket::Day] {
        let filter = Filter::default();
        let (_, charted) = analytics::dashboard_with_trend(&client, &filter, 3, 10, bucket)
            .await
            .unwrap();
        let (_, recounted) =
            analytics::dashboard_with_trend_from_rows(&client, &filter, 3, 10, bucket)
                .await
                .unwrap();
        assert_eq!(charted, recounted, "{bucket:?}");
    }
    insights_equal_the_model(&client, &sales, &refunds).await;
}

#[tokio::test]
async fn an_hour_whose_only_sale_was_voided_has_no_point_in_the_chart_as_in_the_recount() {
    use store_core::domain::refund::{self, VoidRequest};
    let (db, _) = shop().await;
    let client = db.store.client().await.unwrap();
    make_manager_with_pin(&client).await;
    let lonely = Sold {
        branch: BRANCHES[0],
        at: Utc.with_ymd_and_hms(2024, 2, 29, 3, 30, 0).unwrap(),
        user: Uuid::from_u128(42),
        products: vec![1, 2],
        till: Some("T01".into()),
        cashier: Some(8),
    };
    write(&client, std::slice::from_ref(&lonely)).await;
    analytics::fold(&client).await.unwrap();
    let id: i64 = client
        .query_one("SELECT max(id) FROM purchase", &[])
        .await
        .unwrap()
        .get(0);
    in_the_open_shift_of_t01(&client, id).await;
    refund::void_purchase(
        &db.store,
        &VoidRequest {
            void_key: Uuid::new_v4(),
            purchase_id: id,
            till: "T01".into(),
            cashier: Some(8),
            manager: MANAGER,
            manager_pin: refund::ManagerPin::new(MANAGER_PIN),
            reason: "rang up by mistake".into(),
        },
    )
    .await
    .unwrap();
    for bucket in [analytics::TrendBucket::Hour, analytics::TrendBucket::Day] {
        let filter = Filter::default();
        let (_, charted) = analytics::dashboard_with_trend(&client, &filter, 3, 10, bucket)
            .await
            .unwrap();
        let (_, recounted) =
            analytics::dashboard_with_trend_from_rows(&client, &filter, 3, 10, bucket)
                .await
                .unwrap();
        assert!(charted.iter().all(|p| p.purchases > 0), "{bucket:?}");
        assert_eq!(charted, recounted, "{bucket:?}");
    }
}

#[tokio::test]
async fn analytics_from_the_shell_answers_for_a_branch_and_a_range_of_days() {
    let (db, sales) = shop().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_store-core"))
            .arg("analytics")
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("ICASH_CONFIG", "/nonexistent/icash.toml")
            .output()
            .unwrap()
    };
    let out = run(&[
        "--branch",
        "SMKT002",
        "--from",
        "2025-10-20",
        "--to",
        "2025-11-05",
        "--timezone",
        "UTC",
        "--min-purchases",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let start = Utc.with_ymd_and_hms(2025, 10, 20, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2025, 11, 6, 0, 0, 0).unwrap();
    let mut per_user: BTreeMap<Uuid, i64> = BTreeMap::new();
    for s in covered(&sales, Some("SMKT002"), Some((start, end))) {
        *per_user.entry(s.user).or_default() += 1;
    }
    assert_eq!(answer["unique_buyers"], per_user.len() as i64, "{answer}");
    assert_eq!(
        answer["loyal_buyers"].as_array().unwrap().len(),
        per_user.values().filter(|n| **n >= 2).count(),
        "{answer}"
    );
    let mut keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "generated_at",
            "loyal_buyers",
            "min_purchases",
            "top_products",
            "unique_buyers"
        ],
        "the original API's shape"
    );
    let backwards = run(&["--from", "2025-11-05", "--to", "2025-10-20"]);
    assert!(!backwards.status.success());
    let said = String::from_utf8_lossy(&backwards.stderr);
    assert!(said.contains("the range starts after it ends"), "{said}");
    let unknown = run(&["--branch", "NOPE", "--from", "2025-10-20"]);
    assert!(!unknown.status.success());
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("--branch: unknown branch \"NOPE\""), "{said}");
}
