#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use owner_tui::app::{Effect, Msg, Settings, Snapshot, State, update};
use rust_decimal::Decimal;
use store_core::domain::analytics::{
    BranchSales, Dashboard, Filter, LoyalBuyer, TopProduct, TrendBucket, TrendPoint,
};
use store_core::domain::time_zone::Tz;
use uuid::Uuid;

pub fn settings() -> Settings {
    Settings {
        refresh_every: Duration::from_secs(60),
        export_dir: PathBuf::from("/tmp/owner-tui-test-exports"),
        zone: Tz::UTC,
    }
}

pub fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 30, 12, 34, 56).unwrap()
}

/// A connected state at time `now_ms`, with the first refresh already answered by `dashboard`.
pub fn connected_state(dashboard: Dashboard) -> State {
    let mut state = State::new(settings(), dashboard.min_purchases);
    state.filter = dashboard.filter.clone();
    tick(&mut state, 1_000);
    let effects = update(
        &mut state,
        Msg::Connected {
            description: "test".into(),
        },
    );
    let id = refresh_ids(&effects)[0];
    let bucket = match &effects[..] {
        [.., Effect::Refresh { bucket, .. }] => *bucket,
        _ => TrendBucket::Day,
    };
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard,
                trend: Vec::new(),
                bucket,
                standby: None,
                insights: None,
            })),
        },
    );
    state
}

pub fn tick(state: &mut State, ms: u64) -> Vec<Effect> {
    update(
        state,
        Msg::Tick {
            now: Duration::from_millis(ms),
            wall: fixed_time(),
        },
    )
}

pub fn refresh_ids(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Refresh { id, .. } => Some(*id),
            _ => None,
        })
        .collect()
}

pub fn user(n: u128) -> Uuid {
    Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 + n)
}

pub fn dashboard(unique: i64, loyal: i64) -> Dashboard {
    Dashboard {
        filter: Filter::default(),
        min_purchases: 3,
        unique_buyers: unique,
        loyal_buyers: loyal,
        loyal_page: (0..loyal.min(50))
            .map(|i| LoyalBuyer {
                user_id: user(i as u128),
                purchases: 20 - (i / 5),
            })
            .collect(),
        top_products: vec![
            top(1, "milk", 120, 1),
            top(3, "eggs", 100, 2),
            top(2, "bread", 90, 3),
        ],
        branches: vec![
            branch("SMKT001", 40, "250.50"),
            branch("SMKT002", 70, "430.00"),
        ],
        generated_at: fixed_time(),
    }
}

pub fn top(id: i32, name: &str, units: i64, rank: i64) -> TopProduct {
    TopProduct {
        product_id: id,
        name: name.into(),
        units,
        rank,
    }
}

pub fn branch(id: &str, purchases: i64, revenue: &str) -> BranchSales {
    BranchSales {
        supermarket_id: id.into(),
        purchases,
        revenue: revenue.parse::<Decimal>().unwrap(),
        refunds: 0,
        refunded: Decimal::ZERO,
    }
}

pub fn trend_days(counts: &[i64]) -> Vec<TrendPoint> {
    counts
        .iter()
        .enumerate()
        .map(|(i, n)| TrendPoint {
            bucket_start: Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
                + chrono::Duration::days(i as i64),
            purchases: *n,
            revenue: Decimal::from(*n * 5),
        })
        .collect()
}

/// A busy chain's figures: large numbers in every box, a tie at rank 3, three branches (one
/// revenue of the kind a narrow column would cut: 19495.60), and 30 days of sales.
pub fn busy_figures() -> (Dashboard, Vec<TrendPoint>) {
    let mut d = dashboard(1_537_204, 328_411);
    d.top_products = vec![
        top(1, "milk", 2_471_120, 1),
        top(3, "eggs", 2_436_870, 2),
        top(2, "bread", 2_423_002, 3),
        top(5, "apples", 2_423_002, 3),
    ];
    d.branches = vec![
        branch("SMKT001", 458_210, "2843900.10"),
        branch("SMKT002", 1_324_077, "19495.60"),
        branch("SMKT003", 1_220_468, "7662733.20"),
    ];
    let trend: Vec<i64> = (0..30).map(|i| 900 + (i * 37 % 200)).collect();
    (d, trend_days(&trend))
}

fn money(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn summary(
    purchases: i64,
    revenue: &str,
    items: i64,
    buyers: i64,
) -> store_core::domain::analytics::PeriodSummary {
    let revenue = money(revenue);
    let per = |x: Decimal| (purchases > 0).then(|| (x / Decimal::from(purchases)).round_dp(2));
    store_core::domain::analytics::PeriodSummary {
        purchases,
        revenue,
        items,
        unique_buyers: buyers,
        avg_items: per(Decimal::from(items)),
        avg_basket: per(revenue),
        refunds: 0,
        refunded: Decimal::ZERO,
    }
}

/// A month of a busy chain's insights over the last 30 days, against the 30 days before:
/// products with a long name, busy evenings and weekends, tills and cashiers with a sale from
/// neither.
pub fn insights_30_days() -> store_core::domain::analytics::Insights {
    use store_core::domain::analytics::{
        CashierSales, HeatMap, Insights, Period, ProductSales, TillSales,
    };
    let mut now = summary(81_204, "512840.35", 243_611, 40_117);
    now.refunds = 37;
    now.refunded = money("412.80");
    let mut before = summary(72_180, "527102.10", 230_090, 40_117);
    before.refunds = 41;
    before.refunded = money("388.15");
    let names = [
        "milk",
        "eggs",
        "bread",
        "apples",
        "orange juice",
        "cheddar cheese, mature, sliced 400 g family pack",
        "coffee",
        "bananas",
        "butter",
        "yoghurt",
        "rice",
        "pasta",
        "tomatoes",
        "chicken",
        "tea",
        "flour",
        "sugar",
        "salt",
        "olive oil",
        "cereal",
        "honey",
        "jam",
    ];
    let products = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let units = 24_000 - (i as i64) * 1_013;
            ProductSales {
                product_id: i as i32 + 1,
                name: name.to_string(),
                units,
                revenue: Decimal::from(units) * money("2.35") + Decimal::from(i as i64 * 17),
            }
        })
        .collect();
    let mut purchases = [[0i64; 24]; 7];
    for (day, row) in purchases.iter_mut().enumerate() {
        for (hour, cell) in row.iter_mut().enumerate() {
            let open = (8..21).contains(&hour);
            let evening = (17..20).contains(&hour);
            let weekend = day >= 5;
            *cell = match (open, evening, weekend) {
                (false, _, _) => 0,
                (true, true, true) => 1_420,
                (true, true, false) => 980,
                (true, false, true) => 760,
                (true, false, false) => 310 + (hour as i64 * 7 + day as i64 * 13) % 90,
            };
        }
    }
    purchases[6][8] = 0; // closed Sunday mornings
    let tills = vec![
        TillSales {
            till: Some("T01".into()),
            purchases: 24_310,
            revenue: money("153120.40"),
        },
        TillSales {
            till: Some("T02".into()),
            purchases: 21_907,
            revenue: money("138004.95"),
        },
        TillSales {
            till: Some("T03".into()),
            purchases: 18_002,
            revenue: money("113650.00"),
        },
        TillSales {
            till: Some("T04".into()),
            purchases: 16_985,
            revenue: money("107065.00"),
        },
        TillSales {
            till: None,
            purchases: 0,
            revenue: Decimal::ZERO,
        },
    ];
    let cashiers = vec![
        CashierSales {
            cashier: Some(3),
            name: Some("Ana Souza".into()),
            purchases: 30_115,
            revenue: money("190004.10"),
        },
        CashierSales {
            cashier: Some(1),
            name: Some("Ben Okafor".into()),
            purchases: 28_870,
            revenue: money("181836.25"),
        },
        CashierSales {
            cashier: Some(7),
            name: None,
            purchases: 22_219,
            revenue: money("141000.00"),
        },
        CashierSales {
            cashier: None,
            name: None,
            purchases: 0,
            revenue: Decimal::ZERO,
        },
    ];
    Insights {
        filter: Filter {
            period: Period::Last30Days,
            ..Filter::default()
        },
        summary: now,
        previous: Some(before),
        products,
        heat_map: HeatMap { purchases },
        tills,
        cashiers,
        generated_at: fixed_time(),
    }
}

/// One loyal customer's history: three branches, a receipt on most visits.
pub fn customer_detail(user_id: Uuid) -> store_core::domain::analytics::CustomerDetail {
    use store_core::domain::analytics::{CustomerDetail, CustomerVisit};
    let visits: Vec<CustomerVisit> = (0..23)
        .map(|i| CustomerVisit {
            purchase_id: 90_000 - i,
            created_at: fixed_time() - chrono::Duration::hours(i * 31),
            supermarket_id: ["SMKT001", "SMKT002", "SMKT001", "SMKT003"][i as usize % 4].into(),
            items: 1 + i % 5,
            total: money("4.60") * Decimal::from(1 + i % 5),
            receipt: (i % 3 != 2).then(|| format!("T0{}-{:06}", 1 + i % 4, 1200 - i)),
        })
        .collect();
    CustomerDetail {
        user_id,
        purchases: 23,
        total_spent: visits.iter().map(|v| v.total).sum(),
        first_visit: visits.last().map(|v| v.created_at),
        last_visit: visits.first().map(|v| v.created_at),
        branches: vec![
            ("SMKT001".into(), 12),
            ("SMKT002".into(), 6),
            ("SMKT003".into(), 5),
        ],
        visits,
    }
}
