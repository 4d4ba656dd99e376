//! Analytics: the iCash answers (unique buyers, loyal buyers, top products with ties), revenue
//! and trends. The unfiltered dashboard reads the counters that checkout keeps exact, so its cost
//! does not grow with the number of purchases; filtered views and the recount read raw rows.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::domain::time_zone::{self, Tz};
use crate::error::{Error, Result};

mod days;
mod insights;
mod period;
pub use days::day_counter_differences;
pub use insights::*;
pub use period::Period;

/// What the figures cover: one branch or all, and a period, with the days and hours cut in a
/// time zone (the chain's, or the branch's own).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Filter {
    pub supermarket_id: Option<String>,
    pub period: Period,
    pub zone: Tz,
}

impl Default for Filter {
    /// Everything, in UTC.
    fn default() -> Filter {
        Filter {
            supermarket_id: None,
            period: Period::AllTime,
            zone: Tz::UTC,
        }
    }
}

impl Filter {
    /// Everything, with days in `zone`.
    pub fn everything_in(zone: Tz) -> Filter {
        Filter {
            zone,
            ..Filter::default()
        }
    }

    /// The first instant the figures cover at `now` (see [`Period::since`]).
    pub fn since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.period.since(now, self.zone)
    }

    /// [start, end) of the figures at `now` (see [`Period::bounds`]); None for all time.
    pub fn bounds(&self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.period.bounds(now, self.zone)
    }

    /// The first instant after the figures at `now`; None for all time.
    pub fn until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.bounds(now).map(|(_, end)| end)
    }

    pub fn is_everything(&self) -> bool {
        self.supermarket_id.is_none() && self.period == Period::AllTime
    }

    pub fn label(&self) -> String {
        let branch = self.supermarket_id.as_deref().unwrap_or("all branches");
        match self.period {
            Period::Today => format!("{branch} · today ({})", self.zone.name()),
            period => format!("{branch} · {}", period.label()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoyalBuyer {
    pub user_id: Uuid,
    pub purchases: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopProduct {
    pub product_id: i32,
    pub name: String,
    pub units: i64,
    /// SQL RANK(): tied products share a rank.
    #[serde(skip)]
    pub rank: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BranchSales {
    pub supermarket_id: String,
    pub purchases: i64,
    /// Net of refunds (a voided purchase is not in it at all).
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
    /// Refund slips of the branch's purchases in the period (by the purchase's time, as the
    /// revenue they leave), and the money they paid back.
    pub refunds: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub refunded: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrendPoint {
    pub bucket_start: DateTime<Utc>,
    pub purchases: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
}

/// Everything the owner's first screen shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    pub filter: Filter,
    pub min_purchases: i32,
    pub unique_buyers: i64,
    pub loyal_buyers: i64,
    /// The first page of loyal buyers (more through `loyal_buyers_page`).
    pub loyal_page: Vec<LoyalBuyer>,
    pub top_products: Vec<TopProduct>,
    pub branches: Vec<BranchSales>,
    pub generated_at: DateTime<Utc>,
}

impl Dashboard {
    pub fn purchases(&self) -> i64 {
        self.branches.iter().map(|b| b.purchases).sum()
    }
    pub fn revenue(&self) -> Decimal {
        self.branches.iter().map(|b| b.revenue).sum()
    }
}

// --- The counters (unfiltered): a few hundred rows whatever the data size. ---

/// Folds up to $1 of the sales queued since the last read into the counters (see schema.sql).
const FOLD: &str = "SELECT public.fold_purchases($1)";

/// Queued sales folded per transaction: a backlog is folded in short transactions, so that no
/// reader waits behind one long statement.
pub const FOLD_BATCH: i32 = 10_000;

/// The dashboard's reads run in one snapshot: the figures on one screen always agree.
/// The distinct customers of a long period are grouped in memory: at PostgreSQL's default
/// 4 MB of work_mem 30 days at 2M purchases (68k customers) spill to disk; only for the snapshot.
const BEGIN_SNAPSHOT: &str =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL work_mem = '32MB'";
const END_SNAPSHOT: &str = "COMMIT";

// Queued sales are read by their ids, one index lookup each (a lateral subquery with OFFSET 0,
// which the planner cannot turn into a join): right after a fold the queue's statistics still
// count the sales it held, and a join planned on them scanned every purchase (about 300 ms at
// 2M purchases, for each part of a dashboard that adds the queue).

// --- The counters plus the sales still queued, read only: exact whether or not a fold just ran
// (a sale may commit between a fold's commit and the reader's snapshot), and where nothing can
// be written (a hot standby, a role without the right to fold). Cost: the counters' plus the
// queue's, which a fold just emptied where it could. ---

const BUYERS_WITH_QUEUE: &str = "WITH queued AS (SELECT p.user_id, count(*) AS n \
       FROM purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p GROUP BY p.user_id), \
     moves AS (SELECT coalesce(c.purchases, 0) AS old, q.n FROM queued q \
       LEFT JOIN customer c ON c.user_id = q.user_id), \
     histogram AS (SELECT purchases AS k, customers AS d FROM stat_customer_histogram \
       UNION ALL SELECT old, -1 FROM moves WHERE old > 0 \
       UNION ALL SELECT old + n, 1 FROM moves) \
     SELECT coalesce(sum(d), 0)::int8, coalesce(sum(d) FILTER (WHERE k >= $1::int4), 0)::int8 FROM histogram";

// The first $2 + $3 customers not in the queue (by the counters' index) and every queued
// customer hold the page: a customer not queued keeps their place among the others. The index
// is read in order for as many more rows as customers are queued, then the queued ones are left
// out: an anti-join over the whole table would cost as much as the table (7 ms at 100k sales).
const LOYAL_PAGE_WITH_QUEUE: &str = "WITH queued AS (SELECT p.user_id, count(*) AS n \
       FROM purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p GROUP BY p.user_id), \
     candidates AS ( \
       (SELECT c.user_id, c.purchases::int8 AS n FROM ( \
          SELECT c.user_id, c.purchases FROM customer c \
          WHERE c.purchases >= $1::int4 AND c.purchases > 0 \
          ORDER BY c.purchases DESC, c.user_id \
          LIMIT (SELECT CASE WHEN $2::int8 + $3::int8 > 4000000000000000000 THEN NULL \
                             ELSE $2::int8 + $3::int8 + count(*) END FROM queued)) c \
        WHERE NOT EXISTS (SELECT 1 FROM queued q WHERE q.user_id = c.user_id)) \
       UNION ALL \
       SELECT q.user_id, (coalesce(c.purchases, 0) + q.n)::int8 FROM queued q \
       LEFT JOIN customer c ON c.user_id = q.user_id WHERE coalesce(c.purchases, 0) + q.n >= $1) \
     SELECT user_id, n FROM candidates ORDER BY n DESC, user_id LIMIT $2 OFFSET $3";

const TOP_PRODUCTS_WITH_QUEUE: &str = "WITH units AS (SELECT product_id, sum(units)::int8 AS units FROM ( \
         SELECT product_id, units FROM stat_product_units \
         UNION ALL SELECT pp.product_id, count(*) FROM purchase_unfolded u \
         CROSS JOIN LATERAL (SELECT * FROM purchase_product pp WHERE pp.purchase_id = u.purchase_id OFFSET 0) pp GROUP BY pp.product_id) a \
       GROUP BY product_id) \
     SELECT p.id, p.name, t.units, t.rnk FROM ( \
       SELECT product_id, units, rank() OVER (ORDER BY units DESC) AS rnk FROM units WHERE units > 0) t \
     JOIN product p ON p.id = t.product_id \
     WHERE t.rnk <= 3 ORDER BY t.units DESC, p.name";

const BRANCHES_WITH_QUEUE: &str = "SELECT s.id, coalesce(sum(t.purchases), 0)::int8, \
       coalesce(sum(t.revenue), 0)::numeric \
     FROM supermarket s LEFT JOIN ( \
       SELECT supermarket_id, purchases, revenue FROM stat_branch_totals \
       UNION ALL SELECT p.supermarket_id, count(*), sum(p.total_amount) FROM purchase_unfolded u \
       CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p GROUP BY p.supermarket_id) t ON t.supermarket_id = s.id \
     GROUP BY s.id ORDER BY s.id";

const TREND_WITH_QUEUE: &str = "SELECT date_trunc($3, hour, $4) AS bucket, sum(purchases)::int8, sum(revenue)::numeric \
     FROM ( \
       SELECT supermarket_id, hour, purchases, revenue FROM stat_branch_hourly \
       UNION ALL SELECT p.supermarket_id, date_trunc('hour', p.created_at, 'UTC'), count(*), sum(p.total_amount) \
       FROM purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p GROUP BY 1, 2) h \
     WHERE ($1::text IS NULL OR supermarket_id = $1) AND ($2::timestamptz IS NULL OR hour >= date_trunc('hour', $2::timestamptz, 'UTC')) AND ($5::timestamptz IS NULL OR hour < $5) \
     GROUP BY bucket HAVING sum(purchases) > 0 ORDER BY bucket";

// The same for a period of whole UTC hours [$2, $5), with concrete bounds: the hours' index
// reads the period's range, whatever plan the prepared statement settles on.
const TREND_IN_RANGE_WITH_QUEUE: &str = "SELECT date_trunc($3, hour, $4) AS bucket, sum(purchases)::int8, sum(revenue)::numeric \
     FROM ( \
       SELECT supermarket_id, hour, purchases, revenue FROM stat_branch_hourly \
       WHERE hour >= $2::timestamptz AND hour < $5::timestamptz \
       UNION ALL SELECT p.supermarket_id, date_trunc('hour', p.created_at, 'UTC'), count(*), sum(p.total_amount) \
       FROM purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p \
       WHERE p.created_at >= $2::timestamptz AND p.created_at < $5::timestamptz GROUP BY 1, 2) h \
     WHERE ($1::text IS NULL OR supermarket_id = $1) \
     GROUP BY bucket HAVING sum(purchases) > 0 ORDER BY bucket";

const BUYERS_FROM_BRANCH_WITH_QUEUE: &str = "WITH queued AS (SELECT p.user_id, count(*) AS n \
       FROM purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p \
       WHERE p.supermarket_id = $1 GROUP BY p.user_id), \
     moves AS (SELECT coalesce(cb.purchases, 0) AS old, q.n FROM queued q \
       LEFT JOIN customer_branch cb ON cb.supermarket_id = $1 AND cb.user_id = q.user_id), \
     histogram AS (SELECT purchases AS k, customers AS d FROM stat_branch_histogram WHERE supermarket_id = $1 \
       UNION ALL SELECT old, -1 FROM moves WHERE old > 0 \
       UNION ALL SELECT old + n, 1 FROM moves) \
     SELECT coalesce(sum(d), 0)::int8, coalesce(sum(d) FILTER (WHERE k >= $2::int4), 0)::int8 FROM histogram";

const LOYAL_PAGE_FROM_BRANCH_WITH_QUEUE: &str = "WITH queued AS (SELECT p.user_id, count(*) AS n \
       FROM purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p \
       WHERE p.supermarket_id = $1 GROUP BY p.user_id), \
     candidates AS ( \
       (SELECT cb.user_id, cb.purchases::int8 AS n FROM ( \
          SELECT cb.user_id, cb.purchases FROM customer_branch cb \
          WHERE cb.supermarket_id = $1 AND cb.purchases >= $2::int4 \
          ORDER BY cb.purchases DESC, cb.user_id \
          LIMIT (SELECT CASE WHEN $3::int8 + $4::int8 > 4000000000000000000 THEN NULL \
                             ELSE $3::int8 + $4::int8 + count(*) END FROM queued)) cb \
        WHERE NOT EXISTS (SELECT 1 FROM queued q WHERE q.user_id = cb.user_id)) \
       UNION ALL \
       SELECT q.user_id, (coalesce(cb.purchases, 0) + q.n)::int8 FROM queued q \
       LEFT JOIN customer_branch cb ON cb.supermarket_id = $1 AND cb.user_id = q.user_id \
       WHERE coalesce(cb.purchases, 0) + q.n >= $2) \
     SELECT user_id, n FROM candidates ORDER BY n DESC, user_id LIMIT $3 OFFSET $4";

const TOP_PRODUCTS_FROM_BRANCH_WITH_QUEUE: &str = "WITH units AS (SELECT product_id, sum(units)::int8 AS units FROM ( \
         SELECT product_id, units FROM stat_branch_product_units WHERE supermarket_id = $1 \
         UNION ALL SELECT pp.product_id, count(*) FROM purchase_unfolded u \
         CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p \
         CROSS JOIN LATERAL (SELECT * FROM purchase_product pp WHERE pp.purchase_id = u.purchase_id OFFSET 0) pp \
         WHERE p.supermarket_id = $1 GROUP BY pp.product_id) a \
       GROUP BY product_id) \
     SELECT p.id, p.name, t.units, t.rnk FROM ( \
       SELECT product_id, units, rank() OVER (ORDER BY units DESC) AS rnk FROM units WHERE units > 0) t \
     JOIN product p ON p.id = t.product_id \
     WHERE t.rnk <= 3 ORDER BY t.units DESC, p.name";

const BRANCH_WITH_QUEUE: &str = "SELECT s.id, coalesce(sum(t.purchases), 0)::int8, \
       coalesce(sum(t.revenue), 0)::numeric \
     FROM supermarket s LEFT JOIN ( \
       SELECT supermarket_id, purchases, revenue FROM stat_branch_totals WHERE supermarket_id = $1 \
       UNION ALL SELECT p.supermarket_id, count(*), sum(p.total_amount) FROM purchase_unfolded u \
       CROSS JOIN LATERAL (SELECT * FROM purchase p WHERE p.id = u.purchase_id OFFSET 0) p WHERE p.supermarket_id = $1 GROUP BY p.supermarket_id) t \
       ON t.supermarket_id = s.id \
     WHERE s.id = $1 GROUP BY s.id";

// --- Raw rows: any filter, and the recount that proves the counters exact. ---
// $1: branch or NULL for all; $2: first instant or NULL for all time; the last parameter: the
// first instant after the period, or NULL for all time.
// The rules of voids and refunds (README, "Voids and refunds in the figures"): a voided purchase
// counts nowhere; a refunded line is no unit sold and its price leaves the revenue, at the
// purchase's own time (the purchase itself still counts, for its customer too).

const BUYERS_FROM_ROWS: &str = "SELECT count(*)::int8, count(*) FILTER (WHERE n >= $3)::int8 FROM ( \
       SELECT user_id, count(*) AS n FROM purchase pu \
       WHERE ($1::text IS NULL OR supermarket_id = $1) AND ($2::timestamptz IS NULL OR created_at >= $2) \
         AND ($4::timestamptz IS NULL OR created_at < $4) \
         AND NOT EXISTS (SELECT 1 FROM purchase_void v WHERE v.purchase_id = pu.id) \
       GROUP BY user_id) per_user";

const LOYAL_PAGE_FROM_ROWS: &str = "SELECT user_id, count(*)::int8 AS n FROM purchase pu \
     WHERE ($1::text IS NULL OR supermarket_id = $1) AND ($2::timestamptz IS NULL OR created_at >= $2) \
       AND ($6::timestamptz IS NULL OR created_at < $6) \
       AND NOT EXISTS (SELECT 1 FROM purchase_void v WHERE v.purchase_id = pu.id) \
     GROUP BY user_id HAVING count(*) >= $3 \
     ORDER BY n DESC, user_id LIMIT $4 OFFSET $5";

const TOP_PRODUCTS_FROM_ROWS: &str = "SELECT p.id, p.name, t.units, t.rnk FROM ( \
       SELECT pp.product_id, count(*)::int8 AS units, rank() OVER (ORDER BY count(*) DESC) AS rnk \
       FROM purchase_product pp JOIN purchase pu ON pu.id = pp.purchase_id \
       WHERE ($1::text IS NULL OR pu.supermarket_id = $1) AND ($2::timestamptz IS NULL OR pu.created_at >= $2) \
         AND ($3::timestamptz IS NULL OR pu.created_at < $3) \
         AND NOT EXISTS (SELECT 1 FROM purchase_void v WHERE v.purchase_id = pu.id) \
         AND NOT EXISTS (SELECT 1 FROM refund_line rl \
                         WHERE rl.purchase_id = pp.purchase_id AND rl.product_id = pp.product_id) \
       GROUP BY pp.product_id) t \
     JOIN product p ON p.id = t.product_id \
     WHERE t.rnk <= 3 ORDER BY t.units DESC, p.name";

const BRANCHES_FROM_ROWS: &str = "SELECT s.id, count(pu.id)::int8, \
       coalesce(sum(pu.total_amount - coalesce(r.refunded, 0)), 0)::numeric \
     FROM supermarket s LEFT JOIN purchase pu ON pu.supermarket_id = s.id \
       AND ($2::timestamptz IS NULL OR pu.created_at >= $2) \
       AND ($3::timestamptz IS NULL OR pu.created_at < $3) \
       AND NOT EXISTS (SELECT 1 FROM purchase_void v WHERE v.purchase_id = pu.id) \
     LEFT JOIN (SELECT purchase_id, sum(amount) AS refunded FROM refund_line GROUP BY purchase_id) r \
       ON r.purchase_id = pu.id \
     WHERE ($1::text IS NULL OR s.id = $1) \
     GROUP BY s.id ORDER BY s.id";

// Refunds per branch, by the refunded purchase's time ($2 <= created_at < $3), from the refund
// rows themselves: refunds are few, so this costs the same at any history size, and every
// path (counters, days, rows) reads the same figure.
const REFUNDS_BY_BRANCH: &str = "SELECT p.supermarket_id, count(*)::int8, sum(r.amount)::numeric \
     FROM refund r JOIN purchase p ON p.id = r.purchase_id \
     WHERE ($1::text IS NULL OR p.supermarket_id = $1) AND ($2::timestamptz IS NULL OR p.created_at >= $2) \
       AND ($3::timestamptz IS NULL OR p.created_at < $3) \
     GROUP BY p.supermarket_id";

// The trend over the rows themselves, for the views that read rows: bounded by the same instant
// as their other figures, so the chart and the totals agree.
const TREND_FROM_ROWS: &str = "SELECT date_trunc($3, created_at, $4) AS bucket, count(*)::int8, \
       coalesce(sum(total_amount - coalesce(r.refunded, 0)), 0)::numeric \
     FROM purchase pu \
     LEFT JOIN (SELECT purchase_id, sum(amount) AS refunded FROM refund_line GROUP BY purchase_id) r \
       ON r.purchase_id = pu.id \
     WHERE ($1::text IS NULL OR supermarket_id = $1) AND ($2::timestamptz IS NULL OR created_at >= $2) \
       AND ($5::timestamptz IS NULL OR created_at < $5) \
       AND NOT EXISTS (SELECT 1 FROM purchase_void v WHERE v.purchase_id = pu.id) \
     GROUP BY bucket ORDER BY bucket";

/// The dashboard for `filter`: from the counters when unfiltered, else from raw rows.
pub async fn dashboard(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
) -> Result<Dashboard> {
    let (dashboard, _) =
        read_dashboard(client, filter, min_purchases, loyal_page_size, None).await?;
    Ok(dashboard)
}

/// The dashboard for `filter` and its sales trend, folded once and read in one snapshot: the
/// chart's purchases always add up to the branch totals on the same screen.
pub async fn dashboard_with_trend(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
    bucket: TrendBucket,
) -> Result<(Dashboard, Vec<TrendPoint>)> {
    let (dashboard, trend) =
        read_dashboard(client, filter, min_purchases, loyal_page_size, Some(bucket)).await?;
    Ok((dashboard, trend_rows(trend.unwrap_or_default())?))
}

async fn read_dashboard(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
    bucket: Option<TrendBucket>,
) -> Result<(Dashboard, Option<Vec<tokio_postgres::Row>>)> {
    let unit = bucket.map(TrendBucket::unit);
    match (&filter.supermarket_id, filter.period) {
        (None, Period::AllTime) => {
            counters_dashboard(client, min_purchases, loyal_page_size, unit, filter.zone).await
        }
        (Some(branch), Period::AllTime) => {
            branch_counters_dashboard(
                client,
                branch,
                min_purchases,
                loyal_page_size,
                unit,
                filter.zone,
            )
            .await
        }
        _ => days_dashboard(client, filter, min_purchases, loyal_page_size, unit).await,
    }
}

/// A period of whole days: its additive figures from the day-level counters, its buyers from
/// its own rows (see the days module), the trend from the hourly counters where the zone's days
/// are whole UTC hours; in one snapshot.
async fn days_dashboard(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
    unit: Option<&str>,
) -> Result<(Dashboard, Option<Vec<tokio_postgres::Row>>)> {
    let now = Utc::now();
    let Some((start, end)) = filter.bounds(now) else {
        return rows_dashboard(client, filter, min_purchases, loyal_page_size, unit).await;
    };
    fold_where_allowed(client).await?;
    let min = min_purchases.max(1);
    let min_count = i64::from(min);
    let first_page = 0i64;
    let branch = filter.supermarket_id.as_deref();
    let cover = days::CoverParams::new(days::Cover::of(Some((start, end))));
    let cover_params = cover.with(&branch);
    let (since, until) = (Some(start), Some(end));
    let zone_name = filter.zone.name();
    let trend_params: [&(dyn ToSql + Sync); 5] = [&branch, &since, &unit, &zone_name, &until];
    let page = Some(loyal_page_size);
    // The customers' counts and the loyal page come from one grouping of the period's rows (the
    // dashboard's costliest read): the second query of the snapshot has nothing left to read.
    let (buyers, _, top, branches, trend) = read_in_one_snapshot(
        client,
        [
            days::BUYERS_AND_PAGE_IN_RANGE,
            days::NO_ROWS,
            days::TOP_PRODUCTS_FROM_DAYS,
            days::BRANCHES_FROM_DAYS,
        ],
        [
            &[&branch, &start, &end, &min_count, &page, &first_page],
            &[],
            &cover_params,
            &cover_params,
        ],
        unit.map(|_| {
            let sql = if time_zone::days_are_whole_utc_hours(filter.zone) {
                TREND_IN_RANGE_WITH_QUEUE
            } else {
                TREND_FROM_ROWS
            };
            (sql, &trend_params[..])
        }),
        [&branch, &since, &until],
    )
    .await?;
    let users: Vec<Uuid> = buyers.try_get(2)?;
    let counts: Vec<i64> = buyers.try_get(3)?;
    let dashboard = Dashboard {
        filter: filter.clone(),
        min_purchases: min,
        unique_buyers: buyers.try_get(0)?,
        loyal_buyers: buyers.try_get(1)?,
        loyal_page: users
            .into_iter()
            .zip(counts)
            .map(|(user_id, purchases)| LoyalBuyer { user_id, purchases })
            .collect(),
        top_products: top_rows(top)?,
        branches,
        generated_at: now,
    };
    Ok((dashboard, trend))
}

/// One branch, all time, from that branch's counters: as cheap as the whole chain's.
pub async fn dashboard_from_branch_counters(
    client: &impl GenericClient,
    branch: &str,
    min_purchases: i32,
    loyal_page_size: i64,
) -> Result<Dashboard> {
    let (dashboard, _) = branch_counters_dashboard(
        client,
        branch,
        min_purchases,
        loyal_page_size,
        None,
        Tz::UTC,
    )
    .await?;
    Ok(dashboard)
}

/// `unit`: the trend's bucket ("hour", "day"), read in the same snapshot, or None for no trend;
/// its hours and days are `zone`'s.
async fn branch_counters_dashboard(
    client: &impl GenericClient,
    branch: &str,
    min_purchases: i32,
    loyal_page_size: i64,
    unit: Option<&str>,
    zone: Tz,
) -> Result<(Dashboard, Option<Vec<tokio_postgres::Row>>)> {
    let min = min_purchases.max(1);
    let first_page = 0i64;
    let filter = Filter {
        supermarket_id: Some(branch.to_string()),
        period: Period::AllTime,
        zone,
    };
    let trend_branch = Some(branch);
    let all_time: Option<DateTime<Utc>> = None;
    let zone_name = zone.name();
    let trend_params: [&(dyn ToSql + Sync); 5] =
        [&trend_branch, &all_time, &unit, &zone_name, &all_time];
    dashboard_from_counter_queries(
        client,
        filter,
        min,
        [
            BUYERS_FROM_BRANCH_WITH_QUEUE,
            LOYAL_PAGE_FROM_BRANCH_WITH_QUEUE,
            TOP_PRODUCTS_FROM_BRANCH_WITH_QUEUE,
            BRANCH_WITH_QUEUE,
        ],
        [
            &[&branch, &min],
            &[&branch, &min, &loyal_page_size, &first_page],
            &[&branch],
            &[&branch],
        ],
        unit.map(|_| (zone, &trend_params[..])),
    )
    .await
}

/// The trend query of the counter dashboards: the hourly counters plus the queue (they keep UTC
/// hours: cut into the days of a zone whose offsets are whole hours, they add up exactly, see
/// time_zone::days_are_whole_utc_hours), or the rows for a zone whose days are not whole UTC
/// hours.
fn trend_from_counters(zone: Tz) -> &'static str {
    if time_zone::days_are_whole_utc_hours(zone) {
        TREND_WITH_QUEUE
    } else {
        TREND_FROM_ROWS
    }
}

/// What a reader may take the counters for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counters {
    /// Folded just now: exact as they are.
    Folded,
    /// Not folded, because nothing may be written here (a hot standby) or this role may not
    /// fold: exact once the still-queued sales are added, which every read then does.
    WithQueue,
}

/// Folds the queued sales if this server and role may ([`fold`]); on a read-only server
/// (SQLSTATE 25006) or for a role without EXECUTE on `fold_purchases` (42501), nothing is
/// written and the reads add the queue instead.
pub async fn fold_where_allowed(client: &impl GenericClient) -> Result<Counters> {
    use tokio_postgres::error::SqlState;
    match fold(client).await {
        Ok(_) => Ok(Counters::Folded),
        Err(Error::Db(e))
            if crate::error::is_read_only_server(&e)
                || e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) =>
        {
            Ok(Counters::WithQueue)
        }
        Err(e) => Err(e),
    }
}

pub async fn dashboard_from_counters(
    client: &impl GenericClient,
    min_purchases: i32,
    loyal_page_size: i64,
) -> Result<Dashboard> {
    let (dashboard, _) =
        counters_dashboard(client, min_purchases, loyal_page_size, None, Tz::UTC).await?;
    Ok(dashboard)
}

/// `unit`: the trend's bucket ("hour", "day"), read in the same snapshot, or None for no trend;
/// its hours and days are `zone`'s.
async fn counters_dashboard(
    client: &impl GenericClient,
    min_purchases: i32,
    loyal_page_size: i64,
    unit: Option<&str>,
    zone: Tz,
) -> Result<(Dashboard, Option<Vec<tokio_postgres::Row>>)> {
    let min = min_purchases.max(1);
    let first_page = 0i64;
    let all_branches: Option<&str> = None;
    let all_time: Option<DateTime<Utc>> = None;
    let zone_name = zone.name();
    let trend_params: [&(dyn ToSql + Sync); 5] =
        [&all_branches, &all_time, &unit, &zone_name, &all_time];
    dashboard_from_counter_queries(
        client,
        Filter::everything_in(zone),
        min,
        [
            BUYERS_WITH_QUEUE,
            LOYAL_PAGE_WITH_QUEUE,
            TOP_PRODUCTS_WITH_QUEUE,
            BRANCHES_WITH_QUEUE,
        ],
        [&[&min], &[&min, &loyal_page_size, &first_page], &[], &[]],
        unit.map(|_| (zone, &trend_params[..])),
    )
    .await
}

/// Folds where it may (so that the queue stays short), then runs the four counter queries
/// (buyers and loyal count, loyal page, top products, branches), and `trend` if given, in one
/// snapshot. The queries always add the queue: a sale committed between the fold's commit and
/// the snapshot is in the queue, not yet in the counters. In one snapshot: each prepared once per
/// connection, and the transaction's start, the queries and its end all sent together (one
/// round trip).
async fn dashboard_from_counter_queries(
    client: &impl GenericClient,
    filter: Filter,
    min_purchases: i32,
    queries: [&str; 4],
    params: [&[&(dyn ToSql + Sync)]; 4],
    trend: Option<(Tz, &[&(dyn ToSql + Sync)])>,
) -> Result<(Dashboard, Option<Vec<tokio_postgres::Row>>)> {
    fold_where_allowed(client).await?;
    let trend = trend.map(|(zone, params)| (trend_from_counters(zone), params));
    let now = Utc::now();
    let branch = filter.supermarket_id.clone();
    let all_time: Option<DateTime<Utc>> = None;
    let (buyers, loyal, top, branches, trend) = read_in_one_snapshot(
        client,
        queries,
        params,
        trend,
        [&branch, &all_time, &all_time],
    )
    .await?;
    let dashboard = Dashboard {
        filter,
        min_purchases,
        unique_buyers: buyers.try_get(0)?,
        loyal_buyers: buyers.try_get(1)?,
        loyal_page: loyal_rows(loyal)?,
        top_products: top_rows(top)?,
        branches,
        generated_at: now,
    };
    Ok((dashboard, trend))
}

/// One more query for the snapshot, with its parameters.
type SnapshotQuery<'a> = (&'a str, &'a [&'a (dyn ToSql + Sync)]);

/// The rows of one snapshot: buyers, loyal page, top products, branches (with their refunds
/// merged in) and, if asked, trend.
type SnapshotRows = (
    tokio_postgres::Row,
    Vec<tokio_postgres::Row>,
    Vec<tokio_postgres::Row>,
    Vec<BranchSales>,
    Option<Vec<tokio_postgres::Row>>,
);

/// The dashboard's four queries (buyers, loyal page, top products, branches), and the trend's
/// if given, in one `REPEATABLE READ READ ONLY` transaction. Everything is prepared first and
/// then sent at once, the transaction's end included: however the answers are awaited (an
/// error, a caller that gives up), the connection is never left inside the transaction.
/// `client` must not be inside a transaction of its own.
async fn read_in_one_snapshot(
    client: &impl GenericClient,
    queries: [&str; 4],
    params: [&[&(dyn ToSql + Sync)]; 4],
    trend: Option<SnapshotQuery<'_>>,
    refunds_params: [&(dyn ToSql + Sync); 3],
) -> Result<SnapshotRows> {
    let [buyers_sql, loyal_sql, top_sql, branches_sql] = queries;
    let [buyers_params, loyal_params, top_params, branches_params] = params;
    let prepare_trend = async {
        match trend {
            Some((sql, params)) => Ok(Some((client.prepare_cached(sql).await?, params))),
            None => Ok::<_, tokio_postgres::Error>(None),
        }
    };
    let (buyers_q, loyal_q, top_q, branches_q, refunds_q, trend_q) = futures_util::try_join!(
        client.prepare_cached(buyers_sql),
        client.prepare_cached(loyal_sql),
        client.prepare_cached(top_sql),
        client.prepare_cached(branches_sql),
        client.prepare_cached(REFUNDS_BY_BRANCH),
        prepare_trend,
    )?;
    // Polled in this order, each query is sent on its first poll: the trend's goes after the
    // branches' and before the COMMIT.
    let query_trend = async {
        match &trend_q {
            Some((statement, params)) => client.query(statement, params).await.map(Some),
            None => Ok(None),
        }
    };
    let ((), buyers, loyal, top, branches, refunds, trend, ()) = futures_util::try_join!(
        client.batch_execute(BEGIN_SNAPSHOT),
        client.query_one(&buyers_q, buyers_params),
        client.query(&loyal_q, loyal_params),
        client.query(&top_q, top_params),
        client.query(&branches_q, branches_params),
        client.query(&refunds_q, &refunds_params),
        query_trend,
        client.batch_execute(END_SNAPSHOT),
    )?;
    Ok((buyers, loyal, top, branch_rows(branches, refunds)?, trend))
}

/// Every figure computed from the purchase rows themselves, in one snapshot. With the default
/// filter this is the recount that the counters must always equal.
pub async fn dashboard_from_rows(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
) -> Result<Dashboard> {
    let (dashboard, _) =
        rows_dashboard(client, filter, min_purchases, loyal_page_size, None).await?;
    Ok(dashboard)
}

/// [`dashboard_with_trend`] computed from the purchase rows themselves: the recount of the
/// chart as well as of the figures.
pub async fn dashboard_with_trend_from_rows(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
    bucket: TrendBucket,
) -> Result<(Dashboard, Vec<TrendPoint>)> {
    let (dashboard, trend) = rows_dashboard(
        client,
        filter,
        min_purchases,
        loyal_page_size,
        Some(bucket.unit()),
    )
    .await?;
    Ok((dashboard, trend_rows(trend.unwrap_or_default())?))
}

/// `unit`: the trend's bucket ("hour", "day"), from the same rows in the same snapshot with the
/// same first instant, or None for no trend.
async fn rows_dashboard(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    loyal_page_size: i64,
    unit: Option<&str>,
) -> Result<(Dashboard, Option<Vec<tokio_postgres::Row>>)> {
    let min = min_purchases.max(1);
    let min_count = min as i64;
    let first_page = 0i64;
    let now = Utc::now();
    let since = filter.since(now);
    let until = filter.until(now);
    let branch = filter.supermarket_id.as_deref();
    let zone_name = filter.zone.name();
    let trend_params: [&(dyn ToSql + Sync); 5] = [&branch, &since, &unit, &zone_name, &until];
    let (buyers, loyal, top, branches, trend) = read_in_one_snapshot(
        client,
        [
            BUYERS_FROM_ROWS,
            LOYAL_PAGE_FROM_ROWS,
            TOP_PRODUCTS_FROM_ROWS,
            BRANCHES_FROM_ROWS,
        ],
        [
            &[&branch, &since, &min_count, &until],
            &[
                &branch,
                &since,
                &min_count,
                &loyal_page_size,
                &first_page,
                &until,
            ],
            &[&branch, &since, &until],
            &[&branch, &since, &until],
        ],
        unit.map(|_| (TREND_FROM_ROWS, &trend_params[..])),
        [&branch, &since, &until],
    )
    .await?;
    let dashboard = Dashboard {
        filter: filter.clone(),
        min_purchases: min,
        unique_buyers: buyers.try_get(0)?,
        loyal_buyers: buyers.try_get(1)?,
        loyal_page: loyal_rows(loyal)?,
        top_products: top_rows(top)?,
        branches,
        generated_at: now,
    };
    Ok((dashboard, trend))
}

/// A page of loyal buyers for `filter`, sorted by purchases descending then user id.
pub async fn loyal_buyers_page(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    offset: i64,
    limit: i64,
) -> Result<Vec<LoyalBuyer>> {
    let min = min_purchases.max(1);
    // The counters plus whatever was queued since the screen's fold: read only, and exact.
    let rows = if filter.is_everything() {
        client
            .query(LOYAL_PAGE_WITH_QUEUE, &[&min, &limit, &offset])
            .await?
    } else if let (Some(branch), Period::AllTime) = (&filter.supermarket_id, filter.period) {
        client
            .query(
                LOYAL_PAGE_FROM_BRANCH_WITH_QUEUE,
                &[branch, &min, &limit, &offset],
            )
            .await?
    } else if let Some((start, end)) = filter.bounds(Utc::now()) {
        client
            .query(
                days::LOYAL_PAGE_IN_RANGE,
                &[
                    &filter.supermarket_id.as_deref(),
                    &start,
                    &end,
                    &i64::from(min),
                    &Some(limit),
                    &offset,
                ],
            )
            .await?
    } else {
        client
            .query(
                LOYAL_PAGE_FROM_ROWS,
                &[
                    &filter.supermarket_id.as_deref(),
                    &None::<DateTime<Utc>>,
                    &i64::from(min),
                    &limit,
                    &offset,
                    &None::<DateTime<Utc>>,
                ],
            )
            .await?
    };
    loyal_rows(rows)
}

/// Every loyal buyer for `filter`, in list order, from one query: one snapshot, constant memory,
/// and time proportional to the list (unlike paging through it). `each` is called for every
/// buyer; returns how many there were.
pub async fn each_loyal_buyer(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
    mut each: impl FnMut(&LoyalBuyer) -> std::io::Result<()>,
) -> Result<u64> {
    use futures_util::TryStreamExt;
    let min = min_purchases.max(1);
    let no_limit: Option<i64> = None;
    let rows = if filter.is_everything() {
        // Folded or not, the queue is added: a sale may commit just after the fold.
        fold_where_allowed(client).await?;
        let params: [&(dyn ToSql + Sync); 3] = [&min, &no_limit, &0i64];
        client
            .query_raw(LOYAL_PAGE_WITH_QUEUE, params.iter().copied())
            .await?
    } else if let (Some(branch), Period::AllTime) = (&filter.supermarket_id, filter.period) {
        fold_where_allowed(client).await?;
        let params: [&(dyn ToSql + Sync); 4] = [branch, &min, &no_limit, &0i64];
        client
            .query_raw(LOYAL_PAGE_FROM_BRANCH_WITH_QUEUE, params.iter().copied())
            .await?
    } else {
        let now = Utc::now();
        let (start, end) = filter.bounds(now).unzip();
        let branch = filter.supermarket_id.as_deref();
        let min = min as i64;
        let params: [&(dyn ToSql + Sync); 6] = [&branch, &start, &end, &min, &no_limit, &0i64];
        // Every period but all time (handled above for a branch and for the chain) has bounds.
        client
            .query_raw(days::LOYAL_PAGE_IN_RANGE, params.iter().copied())
            .await?
    };
    futures_util::pin_mut!(rows);
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await? {
        let buyer = LoyalBuyer {
            user_id: row.try_get(0)?,
            purchases: row.try_get(1)?,
        };
        each(&buyer).map_err(|e| Error::io("writing the loyal buyers", e))?;
        count += 1;
    }
    Ok(count)
}

/// Moves the sales recorded since the last fold into the counters, [`FOLD_BATCH`] at a time
/// (one transaction each); returns how many. Every counter read does this first, so the
/// counters are exact whenever they are read.
pub async fn fold(client: &impl GenericClient) -> Result<i64> {
    let statement = client.prepare_cached(FOLD).await?;
    let mut total = 0;
    loop {
        let folded: i64 = client
            .query_one(&statement, &[&FOLD_BATCH])
            .await?
            .try_get(0)?;
        total += folded;
        if folded < i64::from(FOLD_BATCH) {
            return Ok(total);
        }
    }
}

/// Purchases and revenue per hour (or per day for longer ranges) for `filter`, from the
/// counters in a query of its own: a screen that also shows totals reads both through
/// [`dashboard_with_trend`], in one snapshot.
pub async fn trend(
    client: &impl GenericClient,
    filter: &Filter,
    bucket: TrendBucket,
) -> Result<Vec<TrendPoint>> {
    fold_where_allowed(client).await?;
    let now = Utc::now();
    let (since, until) = (filter.since(now), filter.until(now));
    let rows = client
        .query(
            trend_from_counters(filter.zone),
            &[
                &filter.supermarket_id.as_deref(),
                &since,
                &bucket.unit(),
                &filter.zone.name(),
                &until,
            ],
        )
        .await?;
    trend_rows(rows)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrendBucket {
    Hour,
    Day,
}

impl TrendBucket {
    /// The unit's name for `date_trunc`.
    fn unit(self) -> &'static str {
        match self {
            TrendBucket::Hour => "hour",
            TrendBucket::Day => "day",
        }
    }
}

fn trend_rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<TrendPoint>> {
    rows.iter()
        .map(|r| {
            Ok(TrendPoint {
                bucket_start: r.try_get(0)?,
                purchases: r.try_get(1)?,
                revenue: r.try_get(2)?,
            })
        })
        .collect()
}

fn loyal_rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<LoyalBuyer>> {
    rows.iter()
        .map(|r| {
            Ok(LoyalBuyer {
                user_id: r.try_get(0)?,
                purchases: r.try_get(1)?,
            })
        })
        .collect()
}

fn top_rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<TopProduct>> {
    rows.iter()
        .map(|r| {
            Ok(TopProduct {
                product_id: r.try_get(0)?,
                name: r.try_get(1)?,
                units: r.try_get(2)?,
                rank: r.try_get(3)?,
            })
        })
        .collect()
}

fn branch_rows(
    rows: Vec<tokio_postgres::Row>,
    refunds: Vec<tokio_postgres::Row>,
) -> Result<Vec<BranchSales>> {
    let mut refunded = std::collections::HashMap::new();
    for r in &refunds {
        refunded.insert(
            r.try_get::<_, String>(0)?,
            (r.try_get::<_, i64>(1)?, r.try_get::<_, Decimal>(2)?),
        );
    }
    rows.iter()
        .map(|r| {
            let supermarket_id: String = r.try_get(0)?;
            let (refunds, refunded) = refunded
                .get(&supermarket_id)
                .copied()
                .unwrap_or((0, Decimal::ZERO));
            Ok(BranchSales {
                supermarket_id,
                purchases: r.try_get(1)?,
                revenue: r.try_get(2)?,
                refunds,
                refunded,
            })
        })
        .collect()
}

/// What a dashboard reading a hot standby shows about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StandbyLag {
    /// How far the standby's figures are behind the primary's, in milliseconds: 0 when it
    /// streams from the primary and has replayed everything it received, else the age of the
    /// last transaction it replayed.
    pub lag_ms: i64,
}

// A standby that streams from the primary and has replayed all it received is current, however
// long ago the primary last committed; otherwise its figures are as old as the last transaction
// it replayed. Without a WAL receiver (replication cut: no row in pg_stat_wal_receiver, which
// any role may see) the last received position stays as it was, so it would look current.
const STANDBY_LAG: &str = "SELECT pg_catalog.pg_is_in_recovery(), CASE \
       WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_stat_wal_receiver) \
         AND pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 \
       ELSE coalesce((extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::int8, 0) \
     END";

/// None on a primary; on a hot standby, how far behind it is.
pub async fn standby_lag(client: &impl GenericClient) -> Result<Option<StandbyLag>> {
    let statement = client.prepare_cached(STANDBY_LAG).await?;
    let row = client.query_one(&statement, &[]).await?;
    let in_recovery: bool = row.try_get(0)?;
    Ok(in_recovery.then(|| StandbyLag {
        lag_ms: row.try_get::<_, i64>(1).unwrap_or(0).max(0),
    }))
}

/// The answer of `store-core analytics --json`, in the original API's names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub unique_buyers: i64,
    pub min_purchases: i32,
    pub loyal_buyers: Vec<LoyalBuyer>,
    pub top_products: Vec<TopProduct>,
    pub generated_at: DateTime<Utc>,
}

/// The iCash answers over all branches and all time, with every loyal buyer.
pub async fn report(client: &impl GenericClient, min_purchases: i32) -> Result<Report> {
    let d = dashboard_from_counters(client, min_purchases, i64::MAX).await?;
    Ok(Report {
        unique_buyers: d.unique_buyers,
        min_purchases: d.min_purchases,
        loyal_buyers: d.loyal_page,
        top_products: d.top_products,
        generated_at: d.generated_at,
    })
}

/// The iCash answers for `filter` (one branch, a range of days), with every loyal buyer: the
/// same shape as [`report`].
pub async fn report_for(
    client: &impl GenericClient,
    filter: &Filter,
    min_purchases: i32,
) -> Result<Report> {
    if filter.is_everything() {
        return report(client, min_purchases).await;
    }
    let d = dashboard(client, filter, min_purchases, i64::MAX).await?;
    Ok(Report {
        unique_buyers: d.unique_buyers,
        min_purchases: d.min_purchases,
        loyal_buyers: d.loyal_page,
        top_products: d.top_products,
        generated_at: d.generated_at,
    })
}
