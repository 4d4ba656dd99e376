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
