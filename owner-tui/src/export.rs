//! The rows of each table the screen shows, as CSV rows (written by `effects` through
//! store-core's spreadsheet-safe writer): what is exported is what is on screen, whole.

use store_core::domain::analytics::{Filter, Period};
use uuid::Uuid;

use crate::app::{State, View};
use crate::figures::figures;
use crate::view::heat_map::WEEKDAYS;

/// Which table is exported: one of the views' (named in its file), or a customer's visits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Named(&'static str),
    Visits(Uuid),
}

pub fn period_slug(period: Period) -> String {
    match period {
        Period::AllTime => "all-time".into(),
        Period::Today => "today".into(),
        Period::Last7Days => "7-days".into(),
        Period::Last30Days => "30-days".into(),
        Period::Yesterday => "yesterday".into(),
        Period::ThisMonth => "this-month".into(),
        Period::Range { from, to } => format!("{from}_{to}"),
    }
}

/// `<what>_<branch>_<period>_<stamp>.csv`
pub fn file_name(what: &str, filter: &Filter, stamp: &str) -> String {
    format!(
        "{what}_{}_{}_{stamp}.csv",
        filter.supermarket_id.as_deref().unwrap_or("all-branches"),
        period_slug(filter.period)
    )
}

fn row<const N: usize>(fields: [String; N]) -> Vec<String> {
    fields.into()
}

/// The table the current view shows (not the overview's, which `Effect::Export` writes), the
/// heading first; None when there is nothing to export yet.
pub fn table_for(state: &State) -> Option<(Table, Vec<Vec<String>>)> {
    if state.view == View::Overview {
        let customer = state.customer.as_ref()?;
        let detail = customer.load.detail()?;
        let mut rows = vec![row([
            "purchase_id",
            "time",
            "branch",
            "items",
            "total",
            "receipt",
        ]
        .map(String::from))];
        rows.extend(detail.visits.iter().map(|v| {
            row([
                v.purchase_id.to_string(),
                state
                    .settings
                    .local(v.created_at)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                v.supermarket_id.clone(),
                v.items.to_string(),
                format!("{:.2}", v.total),
                v.receipt.clone().unwrap_or_default(),
            ])
        }));
        return Some((Table::Visits(customer.user_id), rows));
    }
    let insights = state.insights()?;
    let (name, rows) = match state.view {
        View::Overview => return None,
        View::Summary => {
            let mut rows = vec![row(
                ["figure", "this_period", "previous", "change"].map(String::from)
            )];
            rows.extend(
                figures(&insights.summary, insights.previous.as_ref())
                    .into_iter()
                    .map(|f| {
                        row([
                            f.label.to_string(),
                            f.now,
                            f.before.unwrap_or_default(),
                            f.change.unwrap_or_default(),
                        ])
                    }),
            );
            ("summary", rows)
        }
        View::Products => {
            let mut rows = vec![row([
                "position",
                "product_id",
                "product",
                "units",
                "revenue",
            ]
            .map(String::from))];
            rows.extend(insights.products.iter().enumerate().map(|(i, p)| {
                row([
                    (i + 1).to_string(),
                    p.product_id.to_string(),
                    p.name.clone(),
                    p.units.to_string(),
                    format!("{:.2}", p.revenue),
                ])
            }));
            ("products", rows)
        }
        View::Hours => {
            let mut heading = vec!["weekday".to_string()];
            heading.extend((0..24).map(|h| format!("{h:02}")));
            heading.push("total".into());
            let mut rows = vec![heading];
            for (day, counts) in WEEKDAYS.iter().zip(&insights.heat_map.purchases) {
                let mut line = vec![day.to_string()];
                line.extend(counts.iter().map(i64::to_string));
                line.push(counts.iter().sum::<i64>().to_string());
                rows.push(line);
            }
            ("hours", rows)
        }
        View::Tills => {
            let mut rows = vec![row(["till", "purchases", "revenue"].map(String::from))];
            rows.extend(insights.tills.iter().map(|t| {
                row([
                    t.till.clone().unwrap_or_default(),
                    t.purchases.to_string(),
                    format!("{:.2}", t.revenue),
                ])
            }));
            ("tills", rows)
        }
        View::Cashiers => {
            let mut rows = vec![row(
                ["cashier_id", "name", "purchases", "revenue"].map(String::from)
            )];
            rows.extend(insights.cashiers.iter().map(|c| {
                row([
                    c.cashier.map(|id| id.to_string()).unwrap_or_default(),
                    c.name.clone().unwrap_or_default(),
                    c.purchases.to_string(),
                    format!("{:.2}", c.revenue),
                ])
            }));
            ("cashiers", rows)
        }
    };
    Some((Table::Named(name), rows))
}
