//! Any range of whole local days from the day-level counters (migration 0006): the UTC days
//! inside the range from the daily counters, the UTC hours left at its edges from the hourly
//! ones, the minutes left in a zone whose offset is not whole hours (at most an hour at each
//! end) from the rows, and the sales still queued in the counted part from the queue. The cost
//! follows the number of days, branches and products, never the number of purchases.

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, TimeZone, Utc};
use tokio_postgres::types::ToSql;

/// Where each part of [start, end) is read from. Days are UTC dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cover {
    /// The period: rows in [start, hours_start) and [hours_end, end) are read as rows.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// [hours_start, hours_end): whole UTC hours, from the counters (plus the queue).
    pub hours_start: DateTime<Utc>,
    pub hours_end: DateTime<Utc>,
    /// [days_start, days_end): whole UTC days inside the hours, from the daily counters; the
    /// hours [hours_start, days_start) and [days_end, hours_end) from the hourly ones.
    pub days_start: NaiveDate,
    pub days_end: NaiveDate,
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
}

fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_hour(t);
    if floor == t {
        t
    } else {
        floor + TimeDelta::hours(1)
    }
}

impl Cover {
    /// The cover of [start, end), or of all time.
    pub fn of(bounds: Option<(DateTime<Utc>, DateTime<Utc>)>) -> Cover {
        let Some((start, end)) = bounds else {
            // Every stored time lies in this window (the purchase table's CHECK).
            let first = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
            let last = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");
            return Cover {
                start: midnight(first),
                end: midnight(last),
                hours_start: midnight(first),
                hours_end: midnight(last),
                days_start: first,
                days_end: last,
            };
        };
        let (mut hours_start, mut hours_end) = (ceil_hour(start), floor_hour(end));
        if hours_start >= hours_end {
            // Less than an hour: all rows.
            (hours_start, hours_end) = (end, end);
        }
        let first_day = {
            let day = hours_start.date_naive();
            if midnight(day) == hours_start {
                day
            } else {
                day.succ_opt().unwrap_or(day)
            }
        };
        let last_day = hours_end.date_naive();
        let (days_start, days_end) = if first_day < last_day {
            (first_day, last_day)
        } else {
            // No whole day: every counted hour from the hourly counters.
            let after = hours_end.date_naive();
            (after, after)
        };
        Cover {
            start,
            end,
            hours_start,
            hours_end,
            days_start,
            days_end,
        }
    }

    /// The instants the hourly part stops and starts again around the whole days: with no
    /// whole day both are the hours' end, so the hours run on unbroken.
    fn day_instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        if self.days_start < self.days_end {
            (midnight(self.days_start), midnight(self.days_end))
        } else {
            (self.hours_end, self.hours_end)
        }
    }
}

/// The parameters $2.. of the queries below ($1 is the branch or NULL).
pub(super) struct CoverParams {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    hours_start: DateTime<Utc>,
    hours_end: DateTime<Utc>,
    days_start: NaiveDate,
    days_end: NaiveDate,
    days_start_at: DateTime<Utc>,
    days_end_at: DateTime<Utc>,
}

impl CoverParams {
    pub fn new(cover: Cover) -> CoverParams {
        let (days_start_at, days_end_at) = cover.day_instants();
        CoverParams {
            start: cover.start,
            end: cover.end,
            hours_start: cover.hours_start,
            hours_end: cover.hours_end,
            days_start: cover.days_start,
            days_end: cover.days_end,
            days_start_at,
            days_end_at,
        }
    }

    /// $1 = `branch`, the period and the counted hours, and $6 = `zone`.
    pub fn hours_with<'a>(
        &'a self,
        branch: &'a Option<&'a str>,
        zone: &'a &'a str,
    ) -> [&'a (dyn ToSql + Sync); 6] {
        [
            branch,
            &self.start,
            &self.end,
            &self.hours_start,
            &self.hours_end,
            zone,
        ]
    }

    /// $1 = `branch`, then the period.
    pub fn period_with<'a>(&'a self, branch: &'a Option<&'a str>) -> [&'a (dyn ToSql + Sync); 3] {
        [branch, &self.start, &self.end]
    }

    /// $1 = `branch`, then the cover.
    pub fn with<'a>(&'a self, branch: &'a Option<&'a str>) -> [&'a (dyn ToSql + Sync); 9] {
        [
            branch,
            &self.start,
            &self.end,
            &self.hours_start,
            &self.hours_end,
            &self.days_start,
            &self.days_end,
            &self.days_start_at,
            &self.days_end_at,
        ]
    }
}

// $1 branch or NULL; $2/$3 the period [start, end); $4/$5 the counted hours; $6/$7 the whole
// days (UTC dates); $8/$9 where the hourly part stops and starts again around the days.
macro_rules! branch_is {
    ($alias:literal) => {
        concat!(
            "($1::text IS NULL OR ",
            $alias,
            ".supermarket_id = $1::text)"
        )
    };
}
macro_rules! edge_hours {
    ($col:literal) => {
        concat!(
            "((",
            $col,
            " >= $4::timestamptz AND ",
            $col,
            " < $8::timestamptz) OR (",
            $col,
            " >= $9::timestamptz AND ",
            $col,
            " < $5::timestamptz))"
        )
    };
}
macro_rules! edge_rows {
    () => {
        "((p.created_at >= $2::timestamptz AND p.created_at < $4::timestamptz) OR \
          (p.created_at >= $5::timestamptz AND p.created_at < $3::timestamptz))"
    };
}
macro_rules! queued_in_hours {
    () => {
        "p.created_at >= $4::timestamptz AND p.created_at < $5::timestamptz"
    };
}

// A voided purchase counts nowhere; a refunded line is no unit sold and its money leaves the
// revenue, at the purchase's time (as retract_from_counters does to the counters).
macro_rules! not_voided {
    ($alias:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = ",
            $alias,
            ".id)"
        )
    };
}
macro_rules! line_kept {
    ($alias:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM public.refund_line rl WHERE rl.purchase_id = ",
            $alias,
            ".purchase_id AND rl.product_id = ",
            $alias,
            ".product_id)"
        )
    };
}
macro_rules! kept_revenue_and_items {
    () => {
        concat!(
            "p.total_amount - coalesce((SELECT sum(rl.amount) FROM public.refund_line rl \
               WHERE rl.purchase_id = p.id), 0), \
             (SELECT count(*) FROM public.purchase_product pp WHERE pp.purchase_id = p.id AND ",
            line_kept!("pp"),
            ")"
        )
    };
}

/// (supermarket_id, purchases, revenue, items) parts that add up to the period's figures.
macro_rules! branch_parts {
    () => {
        concat!(
            "SELECT d.supermarket_id, d.purchases, d.revenue, d.items FROM public.stat_branch_daily d \
             WHERE d.day >= $6::date AND d.day < $7::date AND ", branch_is!("d"), " \
             UNION ALL SELECT h.supermarket_id, h.purchases, h.revenue, h.items FROM public.stat_branch_hourly h \
             WHERE ", edge_hours!("h.hour"), " AND ", branch_is!("h"), " \
             UNION ALL SELECT p.supermarket_id, 1, ", kept_revenue_and_items!(), " \
             FROM public.purchase p WHERE ", edge_rows!(), " AND ", branch_is!("p"),
            " AND ", not_voided!("p"), " \
             UNION ALL SELECT p.supermarket_id, 1, ", kept_revenue_and_items!(), " \
             FROM public.purchase_unfolded u CROSS JOIN LATERAL (SELECT * FROM public.purchase p WHERE p.id = u.purchase_id OFFSET 0) p \
             WHERE ", queued_in_hours!(), " AND ", branch_is!("p"), " AND ", not_voided!("p")
        )
    };
}

/// (product_id, units, revenue) parts.
macro_rules! product_parts {
    () => {
        concat!(
            "SELECT d.product_id, d.units, d.revenue FROM public.stat_branch_product_daily d \
             WHERE d.day >= $6::date AND d.day < $7::date AND ", branch_is!("d"), " \
             UNION ALL SELECT h.product_id, h.units, h.revenue FROM public.stat_branch_product_hourly h \
             WHERE ", edge_hours!("h.hour"), " AND ", branch_is!("h"), " \
             UNION ALL SELECT pp.product_id, 1, pp.unit_price FROM public.purchase p \
             JOIN public.purchase_product pp ON pp.purchase_id = p.id \
             WHERE ", edge_rows!(), " AND ", branch_is!("p"), " AND ", not_voided!("p"),
            " AND ", line_kept!("pp"), " \
             UNION ALL SELECT pp.product_id, 1, pp.unit_price FROM public.purchase_unfolded u \
             CROSS JOIN LATERAL (SELECT * FROM public.purchase p WHERE p.id = u.purchase_id OFFSET 0) p \
             CROSS JOIN LATERAL (SELECT * FROM public.purchase_product pp WHERE pp.purchase_id = u.purchase_id OFFSET 0) pp \
             WHERE ", queued_in_hours!(), " AND ", branch_is!("p"), " AND ", not_voided!("p"),
            " AND ", line_kept!("pp")
        )
    };
}

/// The dashboard's top products (ties included) for the period.
pub(super) const TOP_PRODUCTS_FROM_DAYS: &str = concat!(
    "WITH units AS (SELECT product_id, sum(units)::int8 AS units FROM (",
    product_parts!(),
    ") a GROUP BY product_id) \
     SELECT p.id, p.name, t.units, t.rnk FROM ( \
       SELECT product_id, units, rank() OVER (ORDER BY units DESC) AS rnk FROM units WHERE units > 0) t \
     JOIN public.product p ON p.id = t.product_id \
     WHERE t.rnk <= 3 ORDER BY t.units DESC, p.name"
);

/// Purchases and revenue per branch (every branch, or the one asked for) for the period.
pub(super) const BRANCHES_FROM_DAYS: &str = concat!(
    "SELECT s.id, coalesce(sum(t.purchases), 0)::int8, coalesce(sum(t.revenue), 0)::numeric \
     FROM public.supermarket s LEFT JOIN (",
    branch_parts!(),
    ") t ON t.supermarket_id = s.id \
     WHERE ($1::text IS NULL OR s.id = $1::text) GROUP BY s.id ORDER BY s.id"
);

/// Purchases, revenue and items for the period.
pub(super) const SUMMARY_FROM_DAYS: &str = concat!(
    "SELECT coalesce(sum(t.purchases), 0)::int8, coalesce(sum(t.revenue), 0)::numeric, \
       coalesce(sum(t.items), 0)::int8 FROM (",
    branch_parts!(),
    ") t"
);

/// Distinct customers in [$2, $3) ($1: branch or NULL), not additive: from the rows, through
/// the index on (created_at, supermarket_id, user_id) alone.
pub(super) const BUYERS_IN_PERIOD: &str = concat!(
    "SELECT count(DISTINCT p.user_id)::int8 FROM public.purchase p \
     WHERE p.created_at >= $2::timestamptz AND p.created_at < $3::timestamptz \
       AND ($1::text IS NULL OR p.supermarket_id = $1::text) AND ",
    not_voided!("p")
);

/// Units and revenue per product sold in the period.
pub(super) const PRODUCTS_FROM_DAYS: &str = concat!(
    "SELECT pr.id, pr.name, t.units, t.revenue FROM ( \
       SELECT product_id, sum(units)::int8 AS units, sum(revenue)::numeric AS revenue FROM (",
    product_parts!(),
    ") a GROUP BY product_id) t JOIN public.product pr ON pr.id = t.product_id \
     WHERE t.units > 0 ORDER BY t.units DESC, t.revenue DESC, pr.name"
);

/// Purchases per local weekday and hour ($1 to $5 as above; $6: the zone, whose offsets must be
/// whole hours):
/// every counted hour from the hourly counters, the rest from the rows and the queue.
pub(super) const HEAT_MAP_FROM_HOURS: &str = concat!(
    "SELECT extract(isodow FROM t.at AT TIME ZONE $6::text)::int4 - 1, \
       extract(hour FROM t.at AT TIME ZONE $6::text)::int4, sum(t.n)::int8 FROM ( \
       SELECT h.hour AS at, h.purchases AS n FROM public.stat_branch_hourly h \
       WHERE h.hour >= $4::timestamptz AND h.hour < $5::timestamptz AND ",
    branch_is!("h"),
    " UNION ALL SELECT p.created_at, 1 FROM public.purchase p WHERE ",
    edge_rows!(),
    " AND ",
    branch_is!("p"),
    " AND ",
    not_voided!("p"),
    " UNION ALL SELECT p.created_at, 1 FROM public.purchase_unfolded u \
       CROSS JOIN LATERAL (SELECT * FROM public.purchase p WHERE p.id = u.purchase_id OFFSET 0) p WHERE ",
    queued_in_hours!(),
    " AND ",
    branch_is!("p"),
    " AND ",
    not_voided!("p"),
    ") t GROUP BY 1, 2"
);

// The loyal figures of a period: not additive, from the period's rows through the index on
// (created_at, supermarket_id, user_id). Concrete bounds, never "$2 IS NULL OR ...": a generic
// plan of the prepared statement then still reads the index's range.
// $1 branch or NULL, [$2, $3) the period, $4 the purchases that make a loyal buyer.

/// Customers and loyal customers of the period, and the page of [`LOYAL_PAGE_IN_RANGE`], from
/// one grouping:
/// (customers, loyal customers, the page's user ids, their purchases).
pub(super) const BUYERS_AND_PAGE_IN_RANGE: &str = concat!(
    "WITH per_user AS MATERIALIZED (SELECT p.user_id, count(*)::int8 AS n FROM public.purchase p \
       WHERE p.created_at >= $2::timestamptz AND p.created_at < $3::timestamptz \
         AND ($1::text IS NULL OR p.supermarket_id = $1::text) AND ",
    not_voided!("p"),
    " GROUP BY p.user_id) \
     SELECT t.buyers, t.loyal, coalesce(pg.users, '{}'), coalesce(pg.ns, '{}') FROM \
       (SELECT count(*)::int8 AS buyers, count(*) FILTER (WHERE n >= $4::int8)::int8 AS loyal \
        FROM per_user) t, \
       (SELECT array_agg(x.user_id ORDER BY x.n DESC, x.user_id) AS users, \
               array_agg(x.n ORDER BY x.n DESC, x.user_id) AS ns \
        FROM (SELECT user_id, n FROM per_user WHERE n >= $4::int8 \
              ORDER BY n DESC, user_id LIMIT $5::int8 OFFSET $6::int8) x) pg"
);

/// A query that reads nothing, for a slot of a snapshot whose rows came with another query.
pub(super) const NO_ROWS: &str = "SELECT NULL::uuid, NULL::int8 WHERE false";

/// $5 limit (NULL: all), $6 offset.
pub(super) const LOYAL_PAGE_IN_RANGE: &str = concat!(
    "SELECT p.user_id, count(*)::int8 AS n FROM public.purchase p \
     WHERE p.created_at >= $2::timestamptz AND p.created_at < $3::timestamptz \
       AND ($1::text IS NULL OR p.supermarket_id = $1::text) AND ",
    not_voided!("p"),
    " GROUP BY p.user_id HAVING count(*) >= $4::int8 \
     ORDER BY n DESC, p.user_id LIMIT $5::int8 OFFSET $6::int8"
);

// The day-level counters against a recount of the rows they hold (every purchase not queued):
// one line per counter row that differs, none when they are exact. A counter row at zero and a
// missing row are the same.
const FOLDED_LINES: &str = concat!(
    "folded AS (SELECT p.id, p.supermarket_id, p.created_at, p.total_amount \
       FROM public.purchase p \
       WHERE NOT EXISTS (SELECT 1 FROM public.purchase_unfolded u WHERE u.purchase_id = p.id) AND ",
    not_voided!("p"),
    "), line AS (SELECT f.supermarket_id, f.created_at, pp.product_id, pp.unit_price \
       FROM folded f JOIN public.purchase_product pp ON pp.purchase_id = f.id WHERE ",
    line_kept!("pp"),
    "), sale (supermarket_id, created_at, total_amount, items) AS (SELECT p.supermarket_id, \
       p.created_at, ",
    kept_revenue_and_items!(),
    " FROM folded p)"
);

const DAY_COUNTER_DIFFERENCES: &[(&str, &str)] = &[
    (
        "stat_branch_daily",
        "r AS (SELECT supermarket_id, (created_at AT TIME ZONE 'UTC')::date AS k, \
           count(*)::int8 AS a, sum(total_amount)::numeric AS b, sum(items)::int8 AS c FROM sale GROUP BY 1, 2), \
         t AS (SELECT supermarket_id, day AS k, purchases AS a, revenue AS b, items AS c FROM public.stat_branch_daily)",
    ),
    (
        "stat_branch_hourly",
        "r AS (SELECT supermarket_id, date_trunc('hour', created_at, 'UTC') AS k, \
           count(*)::int8 AS a, sum(total_amount)::numeric AS b, sum(items)::int8 AS c FROM sale GROUP BY 1, 2), \
         t AS (SELECT supermarket_id, hour AS k, purchases AS a, revenue AS b, items AS c FROM public.stat_branch_hourly)",
    ),
    (
        "stat_branch_product_daily",
        "r AS (SELECT supermarket_id, (created_at AT TIME ZONE 'UTC')::date::text || ' #' || product_id AS k, \
           count(*)::int8 AS a, sum(unit_price)::numeric AS b, 0::int8 AS c FROM line GROUP BY 1, 2), \
         t AS (SELECT supermarket_id, day::text || ' #' || product_id AS k, units AS a, revenue AS b, 0::int8 AS c \
           FROM public.stat_branch_product_daily)",
    ),
    (
        "stat_branch_product_hourly",
        "r AS (SELECT supermarket_id, date_trunc('hour', created_at, 'UTC')::text || ' #' || product_id AS k, \
           count(*)::int8 AS a, sum(unit_price)::numeric AS b, 0::int8 AS c FROM line GROUP BY 1, 2), \
         t AS (SELECT supermarket_id, hour::text || ' #' || product_id AS k, units AS a, revenue AS b, 0::int8 AS c \
           FROM public.stat_branch_product_hourly)",
    ),
];

/// Every row of the day-level counters (and the hourly items) that differs from a recount of
/// the purchases folded so far, as "table branch key: counters (a,b,c) rows (a,b,c)"; empty when
/// they are exact. Read in one snapshot (the caller's transaction, if any).
pub async fn day_counter_differences(
    client: &impl deadpool_postgres::GenericClient,
) -> crate::error::Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, parts) in DAY_COUNTER_DIFFERENCES {
        let sql = format!(
            "WITH {FOLDED_LINES}, {parts} \
             SELECT coalesce(t.supermarket_id, r.supermarket_id) || ' ' || coalesce(t.k, r.k)::text || ': counters (' \
               || coalesce(t.a, 0) || ',' || coalesce(t.b, 0) || ',' || coalesce(t.c, 0) || ') rows (' \
               || coalesce(r.a, 0) || ',' || coalesce(r.b, 0) || ',' || coalesce(r.c, 0) || ')' \
             FROM t FULL JOIN r ON r.supermarket_id = t.supermarket_id AND r.k = t.k \
             WHERE (coalesce(t.a, 0), coalesce(t.b, 0), coalesce(t.c, 0)) \
               IS DISTINCT FROM (coalesce(r.a, 0), coalesce(r.b, 0), coalesce(r.c, 0)) \
             ORDER BY 1 LIMIT 20"
        );
        for row in client.query(&sql, &[]).await? {
            out.push(format!("{table} {}", row.try_get::<_, String>(0)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::analytics::Period;
    use crate::domain::time_zone::Tz;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cover(period: Period, zone: Tz) -> Cover {
        Cover::of(period.bounds(utc(2025, 11, 2, 15, 0), zone))
    }

    #[test]
    fn a_utc_range_is_whole_days_and_a_zones_range_has_hours_and_minutes_at_its_edges() {
        let month = Period::Range {
            from: date(2025, 10, 1),
            to: date(2025, 10, 31),
        };
        let c = cover(month, Tz::UTC);
        assert_eq!(
            (c.days_start, c.days_end),
            (date(2025, 10, 1), date(2025, 11, 1))
        );
        assert_eq!((c.hours_start, c.hours_end), (c.start, c.end));
        // Paris: from 22:00 UTC on 09-30 to 23:00 UTC on 10-31 (the clocks went back).
        let c = cover(month, Tz::Europe__Paris);
        assert_eq!(
            (c.start, c.end),
            (utc(2025, 9, 30, 22, 0), utc(2025, 10, 31, 23, 0))
        );
        assert_eq!(
            (c.days_start, c.days_end),
            (date(2025, 10, 1), date(2025, 10, 31))
        );
        assert_eq!(CoverParams::new(c).days_end_at, utc(2025, 10, 31, 0, 0));
        // Kolkata (+05:30): half an hour of rows at each end.
        let c = cover(month, Tz::Asia__Kolkata);
        assert_eq!(
            (c.start, c.hours_start),
            (utc(2025, 9, 30, 18, 30), utc(2025, 9, 30, 19, 0))
        );
        assert_eq!(
            (c.hours_end, c.end),
            (utc(2025, 10, 31, 18, 0), utc(2025, 10, 31, 18, 30))
        );
        assert_eq!(
            (c.days_start, c.days_end),
            (date(2025, 10, 1), date(2025, 10, 31))
        );
    }

    #[test]
    fn a_single_local_day_off_utc_is_read_from_hours_only() {
        let c = cover(Period::Today, Tz::America__New_York);
        assert_eq!(
            (c.start, c.end),
            (utc(2025, 11, 2, 4, 0), utc(2025, 11, 3, 5, 0))
        );
        assert_eq!((c.hours_start, c.hours_end), (c.start, c.end));
        assert_eq!(c.days_start, c.days_end);
        let p = CoverParams::new(c);
        assert_eq!((p.days_start_at, p.days_end_at), (c.end, c.end));
        let c = cover(Period::Today, Tz::UTC);
        assert_eq!(
            (c.days_start, c.days_end),
            (date(2025, 11, 2), date(2025, 11, 3))
        );
    }
}
