//! Shifts: every sale, void and refund made at a till belongs to the till's open shift (the
//! database opens one when the till has none). X shows the open shift's running figures; Z
//! closes it and stores its figures in the shift's row, once: a closed shift never gains a row,
//! so its figures never change (see migration 0005).

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::db::store::Store;
use crate::domain::checkout::PaymentMethod;
use crate::domain::time_zone::{self, Tz};
use crate::error::{Error, Result};

/// A shift's figures (X while open, Z once closed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShiftReport {
    /// 0 for a till with no open shift (nothing sold, voided or refunded since its last Z).
    pub shift_id: i64,
    pub till: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The cashier who closed it.
    pub closed_by: Option<i32>,
    /// Every purchase recorded in the shift, voided ones included (their voids are below).
    pub sales: i64,
    /// Gross: the totals of those sales, voided ones included.
    #[serde(with = "rust_decimal::serde::str")]
    pub revenue: Decimal,
    /// Sales per payment method (None: no payment recorded): count and amount; card, cash,
    /// then none.
    pub by_method: Vec<(Option<PaymentMethod>, i64, Decimal)>,
    /// Cash sales' totals less the cash voids and cash refunds made in the shift (no float).
    #[serde(with = "rust_decimal::serde::str")]
    pub cash_expected: Decimal,
    pub voids: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub voided: Decimal,
    pub refunds: i64,
    #[serde(with = "rust_decimal::serde::str")]
    pub refunded: Decimal,
    /// Net: revenue less the voided and the refunded amounts (refunds of earlier shifts' sales
    /// included, as they leave this shift's money).
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    pub first_receipt_no: Option<i64>,
    pub last_receipt_no: Option<i64>,
    pub first_sale_at: Option<DateTime<Utc>>,
    pub last_sale_at: Option<DateTime<Utc>>,
}

impl ShiftReport {
    /// An open shift with nothing in it yet.
    pub fn empty(till: &str, opened_at: DateTime<Utc>) -> ShiftReport {
        ShiftReport {
            shift_id: 0,
            till: till.to_string(),
            opened_at,
            closed_at: None,
            closed_by: None,
            sales: 0,
            revenue: Decimal::ZERO,
            by_method: Vec::new(),
            cash_expected: Decimal::ZERO,
            voids: 0,
            voided: Decimal::ZERO,
            refunds: 0,
            refunded: Decimal::ZERO,
            net: Decimal::ZERO,
            first_receipt_no: None,
            last_receipt_no: None,
            first_sale_at: None,
            last_sale_at: None,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }
}

/// The JSON of the database's shift_figures().
#[derive(Deserialize)]
struct Figures {
    sales: i64,
    #[serde(with = "rust_decimal::serde::str")]
    revenue: Decimal,
    by_method: Vec<MethodFigures>,
    #[serde(with = "rust_decimal::serde::str")]
    cash_expected: Decimal,
    voids: i64,
    #[serde(with = "rust_decimal::serde::str")]
    voided: Decimal,
    refunds: i64,
    #[serde(with = "rust_decimal::serde::str")]
    refunded: Decimal,
    first_receipt_no: Option<i64>,
    last_receipt_no: Option<i64>,
    first_sale_at: Option<DateTime<Utc>>,
    last_sale_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct MethodFigures {
    method: Option<String>,
    count: i64,
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
}

fn report_from_row(row: &tokio_postgres::Row) -> Result<ShiftReport> {
    let shift_id: i64 = row.try_get("id")?;
    let value: serde_json::Value = row.try_get("figures")?;
    let f: Figures = serde_json::from_value(value).map_err(|e| {
        Error::Invalid(format!(
            "the figures of shift {shift_id} could not be read: {e}"
        ))
    })?;
    Ok(ShiftReport {
        shift_id,
        till: row.try_get("till")?,
        opened_at: row.try_get("opened_at")?,
        closed_at: row.try_get("closed_at")?,
        closed_by: row.try_get("closed_by")?,
        sales: f.sales,
        revenue: f.revenue,
        by_method: f
            .by_method
            .into_iter()
            .map(|m| {
                (
                    m.method.as_deref().and_then(PaymentMethod::from_db),
                    m.count,
                    m.amount,
                )
            })
            .collect(),
        cash_expected: f.cash_expected,
        voids: f.voids,
        voided: f.voided,
        refunds: f.refunds,
        refunded: f.refunded,
        net: f.revenue - f.voided - f.refunded,
        first_receipt_no: f.first_receipt_no,
        last_receipt_no: f.last_receipt_no,
        first_sale_at: f.first_sale_at,
        last_sale_at: f.last_sale_at,
    })
}

const CURRENT: &str = "SELECT id, till, opened_at, closed_at, closed_by, figures \
     FROM public.current_shift($1)";
const CLOSE: &str = "SELECT id, till, opened_at, closed_at, closed_by, figures \
     FROM public.close_shift($1, $2)";
const SHIFTS: &str = "SELECT id, till, opened_at, closed_at, closed_by, figures \
     FROM public.till_shifts($1, $2, $3)";

/// [`SHIFTS`] for a role that reads the tables but executes no function (icash_owner): the same
/// rows, an open shift's figures computed by the same query as the database's shift_figures()
/// (migration 0005; a test compares the two).
const SHIFTS_READ_ONLY: &str = "SELECT s.id, s.till, s.opened_at, s.closed_at, s.closed_by, \
       coalesce(s.figures, ( \
         WITH sales AS ( \
             SELECT p.payment_method, p.total_amount, p.receipt_no, p.created_at \
             FROM public.purchase p WHERE p.shift_id = s.id \
         ), methods AS ( \
             SELECT sa.payment_method AS method, count(*) AS n, sum(sa.total_amount) AS amount \
             FROM sales sa GROUP BY sa.payment_method \
         ), voids AS ( \
             SELECT count(*) AS n, coalesce(sum(v.amount), 0) AS amount, \
                    coalesce(sum(v.amount) FILTER (WHERE p.payment_method = 'cash'), 0) AS cash \
             FROM public.purchase_void v JOIN public.purchase p ON p.id = v.purchase_id \
             WHERE v.shift_id = s.id \
         ), refunds AS ( \
             SELECT count(*) AS n, coalesce(sum(r.amount), 0) AS amount, \
                    coalesce(sum(r.amount) FILTER (WHERE r.payment_method = 'cash'), 0) AS cash \
             FROM public.refund r WHERE r.shift_id = s.id \
         ), totals AS ( \
             SELECT count(*) AS n, coalesce(sum(sa.total_amount), 0) AS revenue, \
                    coalesce(sum(sa.total_amount) FILTER (WHERE sa.payment_method = 'cash'), 0) AS cash, \
                    min(sa.receipt_no) AS first_no, max(sa.receipt_no) AS last_no, \
                    min(sa.created_at) AS first_at, max(sa.created_at) AS last_at \
             FROM sales sa \
         ) \
         SELECT jsonb_build_object( \
             'sales', t.n, \
             'revenue', t.revenue::numeric(16, 2)::text, \
             'by_method', coalesce(( \
                 SELECT jsonb_agg(jsonb_build_object('method', m.method, 'count', m.n, \
                                                     'amount', m.amount::numeric(16, 2)::text) \
                                  ORDER BY m.method NULLS LAST) \
                 FROM methods m), '[]'::jsonb), \
             'cash_expected', (t.cash - v.cash - r.cash)::numeric(16, 2)::text, \
             'voids', v.n, 'voided', v.amount::numeric(16, 2)::text, \
             'refunds', r.n, 'refunded', r.amount::numeric(16, 2)::text, \
             'first_receipt_no', t.first_no, 'last_receipt_no', t.last_no, \
             'first_sale_at', t.first_at, 'last_sale_at', t.last_at) \
         FROM totals t, voids v, refunds r)) AS figures \
     FROM public.shift s \
     WHERE s.till = $1 AND s.opened_at < $2 AND (s.closed_at IS NULL OR s.closed_at >= $3) \
     ORDER BY s.opened_at, s.id";

/// X: the till's open shift and its running figures; an empty report (shift 0, opened now) when
/// the till has none open. Writes nothing.
pub async fn current_shift(client: &impl GenericClient, till: &str) -> Result<ShiftReport> {
    match client.query_opt(CURRENT, &[&till]).await? {
        Some(row) => report_from_row(&row),
        None => Ok(ShiftReport::empty(till, Utc::now())),
    }
}

/// Z: closes the till's open shift (an empty one when none is open) by `cashier`, and returns its
/// figures as stored. Sales recorded from then on go to a new shift.
pub async fn close_shift(store: &Store, till: &str, cashier: Option<i32>) -> Result<ShiftReport> {
    let client = store.client().await?;
    let row = client.query_one(CLOSE, &[&till, &cashier]).await?;
    report_from_row(&row)
}

/// The till's shifts that were open at some time on `day` in `zone`, by opening time: a closed
/// shift's figures as stored at its close, an open one's as they run now. As the tills' role
/// through the database's till_shifts(); as a role that executes no function but reads the
/// tables (the owner), by reading them.
pub async fn shifts_on(
    client: &impl GenericClient,
    till: &str,
    day: NaiveDate,
    zone: Tz,
) -> Result<Vec<ShiftReport>> {
    let from = time_zone::start_of_date(day, zone);
    let to = time_zone::next_day(from, zone);
    let rows = match client.query(SHIFTS, &[&till, &from, &to]).await {
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => {
            client.query(SHIFTS_READ_ONLY, &[&till, &to, &from]).await?
        }
        other => other?,
    };
    rows.iter().map(report_from_row).collect()
}
