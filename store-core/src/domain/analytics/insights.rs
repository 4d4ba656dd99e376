//! What the owner reads beyond the iCash answers, for any period: a summary with the previous
//! period beside it, revenue and units per product, the average basket, a heat map of sales by
//! weekday and hour, figures per till and per cashier, and one customer's history.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::Filter;
use super::days::{
    BUYERS_IN_PERIOD, Cover, CoverParams, HEAT_MAP_FROM_HOURS, PRODUCTS_FROM_DAYS,
    SUMMARY_FROM_DAYS,
};
use crate::domain::checkout::receipt_number;
use crate::domain::time_zone;
use crate::error::Result;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PeriodSummary {
    pub purchases: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
    pub items: i64,
    pub unique_buyers: i64,
    /// Items per purchase, 2 decimals; None when there was no purchase.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub avg_items: Option<Decimal>,
    /// Revenue per purchase, 2 decimals; None when there was no purchase.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub avg_basket: Option<Decimal>,
    pub refunds: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub refunded: Decimal,
}

impl PeriodSummary {
    fn new(purchases: i64, revenue: Decimal, items: i64, unique_buyers: i64) -> PeriodSummary {
        let per_purchase = |x: Decimal| {
            (purchases > 0).then(|| {
                (x / Decimal::from(purchases))
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            })
        };
        PeriodSummary {
            purchases,
            revenue,
            items,
            unique_buyers,
            avg_items: per_purchase(Decimal::from(items)),
            avg_basket: per_purchase(revenue),
            refunds: 0,
            refunded: Decimal::ZERO,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductSales {
    pub product_id: i32,
    pub name: String,
    pub units: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
}

/// Purchases by local weekday (Monday = 0) and local hour, in the filter's zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HeatMap {
    pub purchases: [[i64; 24]; 7],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TillSales {
    /// None: sales recorded without a till (imported history, the API).
    pub till: Option<String>,
    pub purchases: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CashierSales {
    /// None: sales recorded without a cashier.
    pub cashier: Option<i32>,
    pub name: Option<String>,
    pub purchases: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Insights {
    pub filter: Filter,
    pub summary: PeriodSummary,
    /// The period of the same length just before (None for all time).
    pub previous: Option<PeriodSummary>,
    /// By units descending, then revenue descending, then name.
    pub products: Vec<ProductSales>,
    pub heat_map: HeatMap,
    /// By revenue descending, then till.
    pub tills: Vec<TillSales>,
    /// By revenue descending, then cashier number.
    pub cashiers: Vec<CashierSales>,
    pub generated_at: DateTime<Utc>,
}

// $1: branch or NULL for all; [$2, $3): the period (concrete bounds, never NULL: a generic plan
// of the prepared statement still reads the index's range). A voided purchase counts nowhere.
const PERIOD_ROWS: &str = "p.created_at >= $2::timestamptz AND p.created_at < $3::timestamptz \
     AND ($1::text IS NULL OR p.supermarket_id = $1::text) \
     AND NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = p.id)";

/// What stays of a purchase's total after its refunds.
const KEPT_TOTAL: &str = "(p.total_amount - coalesce((SELECT sum(rl.amount) FROM public.refund_line rl \
     WHERE rl.purchase_id = p.id), 0))";

// $4: the zone's name.
fn heat_map_from_rows() -> String {
    format!(
        "SELECT extract(isodow FROM p.created_at AT TIME ZONE $4::text)::int4 - 1, \
           extract(hour FROM p.created_at AT TIME ZONE $4::text)::int4, count(*)::int8 \
         FROM public.purchase p WHERE {PERIOD_ROWS} GROUP BY 1, 2"
    )
}

fn tills_from_rows() -> String {
    format!(
        "SELECT p.till, count(*)::int8, sum({KEPT_TOTAL})::numeric AS revenue \
         FROM public.purchase p WHERE {PERIOD_ROWS} GROUP BY p.till ORDER BY revenue DESC, p.till NULLS LAST"
    )
}

fn cashiers_from_rows() -> String {
    format!(
        "SELECT t.cashier, c.name, t.n, t.revenue FROM ( \
           SELECT p.cashier, count(*)::int8 AS n, sum({KEPT_TOTAL})::numeric AS revenue \
           FROM public.purchase p WHERE {PERIOD_ROWS} GROUP BY p.cashier) t \
         LEFT JOIN public.cashier c ON c.number = t.cashier \
         ORDER BY t.revenue DESC, t.cashier NULLS LAST"
    )
}

/// Refund slips of the period's purchases (at the purchase's time, like their money).
const REFUNDS_IN_PERIOD: &str = "SELECT count(*)::int8, coalesce(sum(r.amount), 0)::numeric \
     FROM public.refund r JOIN public.purchase p ON p.id = r.purchase_id \
     WHERE p.created_at >= $2::timestamptz AND p.created_at < $3::timestamptz \
       AND ($1::text IS NULL OR p.supermarket_id = $1::text)";

/// Everything the insights screen shows for `filter` at `now`, read in one snapshot: the
/// additive figures from the day-level counters (a few hundred rows whatever the history),
/// distinct customers and the figures per till and cashier from the period's rows.
pub async fn insights(
    client: &impl GenericClient,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Result<Insights> {
    super::fold_where_allowed(client).await?;
    let branch = filter.supermarket_id.as_deref();
    let bounds = filter.bounds(now);
    let here = CoverParams::new(Cover::of(bounds));
    let previous = filter
        .period
        .previous(now, filter.zone)
        .and_then(|p| p.bounds(now, filter.zone))
        .map(|b| CoverParams::new(Cover::of(Some(b))));
    let zone = filter.zone.name();
    let heat_sql = if time_zone::days_are_whole_utc_hours(filter.zone) {
        HEAT_MAP_FROM_HOURS.to_string()
    } else {
        heat_map_from_rows()
    };
    // All time: the distinct customers are the customers (the counters plus the queue).
    let min_one = 1i32;
    let (buyers_sql, buyers_params): (&str, Vec<&(dyn ToSql + Sync)>) = match (bounds, &branch) {
        (Some(_), _) => (BUYERS_IN_PERIOD, here.period_with(&branch).to_vec()),
        (None, None) => (super::BUYERS_WITH_QUEUE, vec![&min_one]),
        (None, Some(b)) => (super::BUYERS_FROM_BRANCH_WITH_QUEUE, vec![b, &min_one]),
    };
    let tills_sql = tills_from_rows();
    let cashiers_sql = cashiers_from_rows();
    let (
        refunds_q,
        summary_q,
        buyers_q,
        previous_buyers_q,
        products_q,
        heat_q,
        tills_q,
        cashiers_q,
    ) = futures_util::try_join!(
        client.prepare_cached(REFUNDS_IN_PERIOD),
        client.prepare_cached(SUMMARY_FROM_DAYS),
        client.prepare_cached(buyers_sql),
        client.prepare_cached(BUYERS_IN_PERIOD),
        client.prepare_cached(PRODUCTS_FROM_DAYS),
        client.prepare_cached(&heat_sql),
        client.prepare_cached(&tills_sql),
        client.prepare_cached(&cashiers_sql),
    )?;
    let rows_period = here.period_with(&branch);
    // Each one query, so that every query is sent before the transaction's end.
    let previous_cover = previous.as_ref().map(|before| before.with(&branch));
    let previous_period = previous.as_ref().map(|before| before.period_with(&branch));
    let query_previous_summary = async {
        match &previous_cover {
            Some(params) => client.query_one(&summary_q, params).await.map(Some),
            None => Ok(None),
        }
    };
    let query_previous_refunds = async {
        match &previous_period {
            Some(params) => client.query_one(&refunds_q, params).await.map(Some),
            None => Ok(None),
        }
    };
    let query_previous_buyers = async {
        match &previous_period {
            Some(params) => client.query_one(&previous_buyers_q, params).await.map(Some),
            None => Ok(None),
        }
    };
    let heat_params: Vec<&(dyn ToSql + Sync)> = if time_zone::days_are_whole_utc_hours(filter.zone)
    {
        here.hours_with(&branch, &zone).to_vec()
    } else {
        let mut params = here.period_with(&branch).to_vec();
        params.push(&zone);
        params
    };
    let cover = here.with(&branch);
    // Sent together, the transaction's end included (see read_in_one_snapshot).
    let (
        (),
        summary,
        buyers,
        refunds,
        previous_summary,
        previous_buyers,
        previous_refunds,
        products,
        heat,
        tills,
        cashiers,
        (),
    ) = futures_util::try_join!(
        client.batch_execute(super::BEGIN_SNAPSHOT),
        client.query_one(&summary_q, &cover),
        client.query_one(&buyers_q, &buyers_params),
        client.query_one(&refunds_q, &rows_period),
        query_previous_summary,
        query_previous_buyers,
        query_previous_refunds,
        client.query(&products_q, &cover),
        client.query(&heat_q, &heat_params),
        client.query(&tills_q, &rows_period),
        client.query(&cashiers_q, &rows_period),
        client.batch_execute(super::END_SNAPSHOT),
    )?;
    let summary_of = |r: &tokio_postgres::Row,
                      buyers: &tokio_postgres::Row,
                      refunds: &tokio_postgres::Row|
     -> Result<PeriodSummary> {
        Ok(PeriodSummary {
            refunds: refunds.try_get(0)?,
            refunded: refunds.try_get(1)?,
            ..PeriodSummary::new(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                buyers.try_get(0)?,
            )
        })
    };
    let mut heat_map = HeatMap::default();
    for r in &heat {
        let (day, hour, n): (i32, i32, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        if let (Ok(day @ 0..=6), Ok(hour @ 0..=23)) = (usize::try_from(day), usize::try_from(hour))
        {
            heat_map.purchases[day][hour] += n;
        }
    }
    Ok(Insights {
        filter: filter.clone(),
        summary: summary_of(&summary, &buyers, &refunds)?,
        previous: match (&previous_summary, &previous_buyers, &previous_refunds) {
            (Some(s), Some(b), Some(r)) => Some(summary_of(s, b, r)?),
            _ => None,
        },
        products: products
            .iter()
            .map(|r| {
                Ok(ProductSales {
                    product_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    units: r.try_get(2)?,
                    revenue: r.try_get(3)?,
                })
            })
            .collect::<Result<_>>()?,
        heat_map,
        tills: tills
            .iter()
            .map(|r| {
                Ok(TillSales {
                    till: r.try_get(0)?,
                    purchases: r.try_get(1)?,
                    revenue: r.try_get(2)?,
                })
            })
            .collect::<Result<_>>()?,
        cashiers: cashiers
            .iter()
            .map(|r| {
                Ok(CashierSales {
                    cashier: r.try_get(0)?,
                    name: r.try_get(1)?,
                    purchases: r.try_get(2)?,
                    revenue: r.try_get(3)?,
                })
            })
            .collect::<Result<_>>()?,
        generated_at: now,
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerVisit {
    pub purchase_id: i64,
    pub created_at: DateTime<Utc>,
    pub supermarket_id: String,
    pub items: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// The till's receipt number ("T03-000124"), when the sale had one.
    pub receipt: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerDetail {
    pub user_id: Uuid,
    pub purchases: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_spent: Decimal,
    pub first_visit: Option<DateTime<Utc>>,
    pub last_visit: Option<DateTime<Utc>>,
    /// Purchases per branch, most first.
    pub branches: Vec<(String, i64)>,
    /// Newest first, at most the limit asked for.
    pub visits: Vec<CustomerVisit>,
}

// A voided purchase is no visit; refunds leave the money spent.
const CUSTOMER_TOTALS: &str = "SELECT count(*)::int8, coalesce(sum(p.total_amount - coalesce( \
         (SELECT sum(rl.amount) FROM public.refund_line rl WHERE rl.purchase_id = p.id), 0)), 0)::numeric, \
       min(p.created_at), max(p.created_at) \
     FROM public.purchase p WHERE p.user_id = $1 \
       AND NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = p.id)";

const CUSTOMER_BRANCHES: &str = "SELECT p.supermarket_id, count(*)::int8 AS n \
     FROM public.purchase p WHERE p.user_id = $1 \
       AND NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = p.id) \
     GROUP BY p.supermarket_id ORDER BY n DESC, p.supermarket_id";

const CUSTOMER_VISITS: &str = "SELECT p.id, p.created_at, p.supermarket_id, \
       (SELECT count(*) FROM public.purchase_product pp WHERE pp.purchase_id = p.id \
          AND NOT EXISTS (SELECT 1 FROM public.refund_line rl \
                          WHERE rl.purchase_id = pp.purchase_id AND rl.product_id = pp.product_id))::int8, \
       p.total_amount - coalesce((SELECT sum(rl.amount) FROM public.refund_line rl WHERE rl.purchase_id = p.id), 0), \
       p.till, p.receipt_no \
     FROM public.purchase p WHERE p.user_id = $1 \
       AND NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = p.id) \
     ORDER BY p.created_at DESC, p.id DESC LIMIT $2";

/// One customer's purchases, branches, first and last visit and total spent, with their
/// `limit` latest visits; None when they never bought anything.
pub async fn customer_detail(
    client: &impl GenericClient,
    user_id: Uuid,
    limit: i64,
) -> Result<Option<CustomerDetail>> {
    let limit = limit.max(0);
    let (totals_q, branches_q, visits_q) = futures_util::try_join!(
        client.prepare_cached(CUSTOMER_TOTALS),
        client.prepare_cached(CUSTOMER_BRANCHES),
        client.prepare_cached(CUSTOMER_VISITS),
    )?;
    let one: [&(dyn ToSql + Sync); 1] = [&user_id];
    let page: [&(dyn ToSql + Sync); 2] = [&user_id, &limit];
    let ((), totals, branches, visits, ()) = futures_util::try_join!(
        client.batch_execute(super::BEGIN_SNAPSHOT),
        client.query_one(&totals_q, &one),
        client.query(&branches_q, &one),
        client.query(&visits_q, &page),
        client.batch_execute(super::END_SNAPSHOT),
    )?;
    let purchases: i64 = totals.try_get(0)?;
    if purchases == 0 {
        return Ok(None);
    }
    Ok(Some(CustomerDetail {
        user_id,
        purchases,
        total_spent: totals.try_get(1)?,
        first_visit: totals.try_get(2)?,
        last_visit: totals.try_get(3)?,
        branches: branches
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_>>()?,
        visits: visits
            .iter()
            .map(|r| {
                let till: Option<String> = r.try_get(5)?;
                let receipt_no: Option<i64> = r.try_get(6)?;
                Ok(CustomerVisit {
                    purchase_id: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                    supermarket_id: r.try_get(2)?,
                    items: r.try_get(3)?,
                    total: r.try_get(4)?,
                    receipt: till
                        .zip(receipt_no)
                        .map(|(till, no)| receipt_number(&till, no)),
                })
            })
            .collect::<Result<_>>()?,
    }))
}
