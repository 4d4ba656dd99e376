//! TEMPORARY: the analytics types of contract-insights.md until store-core has them (replaced
//! by `store_core::domain::analytics` on merge).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use store_core::domain::analytics::Filter;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodSummary {
    pub purchases: i64,
    pub revenue: Decimal,
    pub items: i64,
    pub unique_buyers: i64,
    pub avg_items: Option<Decimal>,
    pub avg_basket: Option<Decimal>,
    pub refunds: i64,
    pub refunded: Decimal,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductSales {
    pub product_id: i32,
    pub name: String,
    pub units: i64,
    pub revenue: Decimal,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeatMap {
    pub purchases: [[i64; 24]; 7],
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TillSales {
    pub till: Option<String>,
    pub purchases: i64,
    pub revenue: Decimal,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CashierSales {
    pub cashier: Option<i32>,
    pub name: Option<String>,
    pub purchases: i64,
    pub revenue: Decimal,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insights {
    pub filter: Filter,
    pub summary: PeriodSummary,
    pub previous: Option<PeriodSummary>,
    pub products: Vec<ProductSales>,
    pub heat_map: HeatMap,
    pub tills: Vec<TillSales>,
    pub cashiers: Vec<CashierSales>,
    pub generated_at: DateTime<Utc>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerVisit {
    pub purchase_id: i64,
    pub created_at: DateTime<Utc>,
    pub supermarket_id: String,
    pub items: i64,
    pub total: Decimal,
    pub receipt: Option<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerDetail {
    pub user_id: Uuid,
    pub purchases: i64,
    pub total_spent: Decimal,
    pub first_visit: Option<DateTime<Utc>>,
    pub last_visit: Option<DateTime<Utc>>,
    pub branches: Vec<(String, i64)>,
    pub visits: Vec<CustomerVisit>,
}

/// Shim for `Period::parse_range` until store-core has ranges.
pub fn parse_range(from: &str, to: &str) -> Result<store_core::domain::analytics::Period, String> {
    let parse = |what: &str, text: &str| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("{what}: {text:?} is not a date (YYYY-MM-DD)"))
    };
    parse("from", from)?;
    parse("to", to)?;
    Err("ranges are not in store-core yet".into())
}

/// Shim for the dates a filter's period covers, until store-core has `Period::bounds`.
pub fn range_dates(filter: &Filter, wall: Option<DateTime<Utc>>) -> Option<(String, String)> {
    let now = wall?;
    let since = filter.since(now)?;
    let day = |at: DateTime<Utc>| {
        at.with_timezone(&filter.zone)
            .format("%Y-%m-%d")
            .to_string()
    };
    Some((day(since), day(now)))
}

/// Shim for the previous period's label, until store-core has `Period::previous`.
pub fn previous_label(insights: &Insights) -> Option<String> {
    insights
        .previous
        .as_ref()
        .map(|_| "the period before".to_string())
}
