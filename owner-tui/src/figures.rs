//! The period's figures against the period before, as the summary view and its export show
//! them: exact (decimal) changes, written with a sign that reads without colour.

use rust_decimal::Decimal;

use store_core::domain::analytics::PeriodSummary;

/// One figure of the summary: what it is, its value now and before, and the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    pub label: &'static str,
    pub now: String,
    /// None when there is no previous period (all time).
    pub before: Option<String>,
    pub change: Option<String>,
}

/// "▲ 12.5%", "▼ 3.0%", "same", or "new" when there was nothing before; rounded to a tenth of
/// a percent.
pub fn change(now: Decimal, before: Decimal) -> String {
    if now == before {
        return "same".into();
    }
    if before.is_zero() {
        return "new".into();
    }
    let percent = ((now - before) * Decimal::ONE_HUNDRED / before.abs()).round_dp(1);
    if now > before {
        format!("▲ {:.1}%", percent.abs())
    } else {
        format!("▼ {:.1}%", percent.abs())
    }
}

fn optional_change(now: Option<Decimal>, before: Option<Decimal>) -> String {
    match (now, before) {
        (Some(now), Some(before)) => change(now, before),
        (Some(_), None) => "new".into(),
        (None, _) => "—".into(),
    }
}

fn money(value: Decimal) -> String {
    format!("{value:.2}")
}

fn optional(value: Option<Decimal>) -> String {
    value.map(money).unwrap_or_else(|| "—".into())
}

/// Every figure of `now`, each against `before` when there is a period before.
pub fn figures(now: &PeriodSummary, before: Option<&PeriodSummary>) -> Vec<Figure> {
    type Pick = fn(&PeriodSummary) -> Option<Decimal>;
    type Show = fn(&PeriodSummary) -> String;
    let rows: [(&'static str, Pick, Show); 8] = [
        (
            "Purchases",
            |s| Some(s.purchases.into()),
            |s| s.purchases.to_string(),
        ),
        ("Revenue", |s| Some(s.revenue), |s| money(s.revenue)),
        (
            "Items sold",
            |s| Some(s.items.into()),
            |s| s.items.to_string(),
        ),
        (
            "Unique buyers",
            |s| Some(s.unique_buyers.into()),
            |s| s.unique_buyers.to_string(),
        ),
        (
            "Items per basket",
            |s| s.avg_items,
            |s| optional(s.avg_items),
        ),
        (
            "Average basket",
            |s| s.avg_basket,
            |s| optional(s.avg_basket),
        ),
        (
            "Refunds",
            |s| Some(s.refunds.into()),
            |s| s.refunds.to_string(),
        ),
        ("Refunded", |s| Some(s.refunded), |s| money(s.refunded)),
    ];
    rows.into_iter()
        .map(|(label, pick, show)| Figure {
            label,
            now: show(now),
            before: before.map(show),
            change: before.map(|before| optional_change(pick(now), pick(before))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn changes_are_exact_and_signed_in_words_and_arrows() {
        assert_eq!(change(d("112.5"), d("100")), "▲ 12.5%");
        assert_eq!(change(d("97"), d("100")), "▼ 3.0%");
        assert_eq!(change(d("5"), d("0")), "new");
        assert_eq!(change(d("0"), d("0")), "same");
        assert_eq!(change(d("7.10"), d("7.1")), "same");
        assert_eq!(change(d("0"), d("4")), "▼ 100.0%");
        // 1/3 more: rounded, never a float's 33.33333.
        assert_eq!(change(d("4"), d("3")), "▲ 33.3%");
    }
}
