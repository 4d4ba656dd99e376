//! Voids and refunds: a purchase found by its receipt number, voided whole or refunded line by
//! line, each confirmed by a manager and given a reason. Each is its own row (nothing is updated
//! or deleted in place), written with its counters' retraction in one transaction under the fold
//! lock (see migration 0005), and keyed: a retried void or refund writes nothing and returns the
//! stored one (`replayed`). Run by the till's role (icash_clerk) through SECURITY DEFINER
//! functions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::store::Store;
use crate::domain::checkout::{PaymentMethod, Receipt, ReceiptLine, payment_method_from_db};
use crate::error::{Result, describe_db_error};
use crate::retry::RetryPolicy;

/// A purchase as the void and refund screens show it: the receipt, and what was undone of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SoldPurchase {
    pub receipt: Receipt,
    pub voided: Option<VoidRecord>,
    /// The products refunded already, by id.
    pub refunded_product_ids: Vec<i32>,
    pub refunds: Vec<RefundRecord>,
}

impl SoldPurchase {
    /// The lines that may still be refunded (none once voided).
    pub fn refundable_lines(&self) -> Vec<&ReceiptLine> {
        if self.voided.is_some() {
            return Vec::new();
        }
        self.receipt
            .lines
            .iter()
            .filter(|l| !self.refunded_product_ids.contains(&l.product_id))
            .collect()
    }
}

/// A manager's PIN as typed, sent with a void or refund for the database to check: never in a
/// `Debug` print, the log or any serialised form.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ManagerPin(String);

impl ManagerPin {
    pub fn new(pin: impl Into<String>) -> Self {
        ManagerPin(pin.into())
    }
    /// The PIN itself, for the database's check.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ManagerPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManagerPin(***)")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidRequest {
    /// Chosen when the void is confirmed; the void's identity in every retry.
    pub void_key: Uuid,
    pub purchase_id: i64,
    pub till: String,
    /// The signed-in cashier (None when the chain records no cashiers).
    pub cashier: Option<i32>,
    /// The manager who confirms it, with their PIN (checked by the database).
    pub manager: i32,
    #[serde(skip)]
    pub manager_pin: ManagerPin,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub refund_key: Uuid,
    pub purchase_id: i64,
    /// The lines to refund; empty: every line not refunded yet.
    pub product_ids: Vec<i32>,
    pub till: String,
    pub cashier: Option<i32>,
    pub manager: i32,
    #[serde(skip)]
    pub manager_pin: ManagerPin,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoidRecord {
    pub purchase_id: i64,
    pub voided_at: DateTime<Utc>,
    pub till: String,
    pub cashier: Option<i32>,
    pub manager: i32,
    pub reason: String,
    /// The purchase's total.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// This key was used before: this is that void, nothing was written now.
    pub replayed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundRecord {
    pub refund_id: i64,
    pub purchase_id: i64,
    pub refunded_at: DateTime<Utc>,
    pub till: String,
    pub cashier: Option<i32>,
    pub manager: i32,
    pub reason: String,
    /// The sum of the lines' prices as sold.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// The lines refunded, at their prices as sold.
    pub lines: Vec<ReceiptLine>,
    /// Paid back the way the purchase was paid; in cash when that is unknown (history, sales
    /// with no payment step), so that the drawer's cash expected counts it.
    pub payment_method: Option<PaymentMethod>,
    pub replayed: bool,
}

/// Why a void or refund was not made. Display: a sentence for the till's screen.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("no such sale")]
    NotFound,
    #[error("this sale was voided: there is nothing left to void or refund")]
    AlreadyVoided,
    #[error("refunded already: {}", ids(.product_ids))]
    AlreadyRefunded { product_ids: Vec<i32> },
    #[error("this sale has refunds and cannot be voided: refund its other lines instead")]
    HasRefunds,
    #[error("cashier {0} is not a manager: a manager confirms voids and refunds")]
    NotAManager(i32),
    /// The database checked the manager's PIN: it is not theirs (the failure is recorded).
    #[error("wrong PIN for manager {0}")]
    WrongPin(i32),
    /// 5 wrong PINs for this manager within 15 minutes: refused until the window has passed.
    #[error("too many wrong PINs for manager {0}: try again in 15 minutes, or another manager")]
    TooManyWrongPins(i32),
    /// A void is of a sale of this till's open shift; another sale is refunded.
    #[error("this sale is not of this till's open shift: refund it instead (r)")]
    NotInThisShift,
    #[error("not in this sale: {}", ids(.0))]
    NotInPurchase(Vec<i32>),
    #[error("give a reason")]
    EmptyReason,
    #[error("the database is unreachable ({0}): voids and refunds need it")]
    Unavailable(String),
    #[error("the database refused it: {0}")]
    Refused(String),
}

impl RefundError {
    pub fn is_connection_problem(&self) -> bool {
        matches!(self, RefundError::Unavailable(_))
    }
}

fn ids(ids: &[i32]) -> String {
    let names: Vec<String> = ids.iter().map(|id| format!("product {id}")).collect();
    names.join(", ")
}

/// "T03-000124" -> ("T03", 124): the inverse of [`crate::domain::checkout::receipt_number`]
/// (also with fewer or more digits, and surrounding blanks). None for anything else.
pub fn parse_receipt_number(text: &str) -> Option<(String, i64)> {
    let (till, number) = text.trim().rsplit_once('-')?;
    let till_ok = (1..=32).contains(&till.len())
        && till
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !till_ok || number.is_empty() || number.len() > 12 {
        return None;
    }
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    (1..=crate::domain::checkout::MAX_RECEIPT_NO)
        .contains(&n)
        .then(|| (till.to_string(), n))
}

const FIND: &str = "SELECT purchase_id, sale_key, supermarket_id, user_id, created_at, \
     total_amount, till, cashier, receipt_no, payment_method, tendered, change_due, product_ids, \
     product_names, unit_prices, voided_at, void_till, void_cashier, void_manager, void_reason, \
     void_amount, refunds FROM public.find_purchase($1, $2)";

/// One refund as find_purchase's JSON holds it.
#[derive(Deserialize)]
struct StoredRefund {
    refund_id: i64,
    refunded_at: DateTime<Utc>,
    till: Option<String>,
    cashier: Option<i32>,
    manager: i32,
    reason: String,
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    payment_method: Option<String>,
    lines: Vec<StoredLine>,
}

#[derive(Deserialize)]
struct StoredLine {
    product_id: i32,
    name: String,
    #[serde(with = "rust_decimal::serde::str")]
    unit_price: Decimal,
}

/// The sale with this receipt number at `till`, with its void and refunds; None when there is
/// none. Its receipt is the purchase as stored: `replayed` is true and `new_customer` false
/// (neither is known, nor needed, after the fact).
pub async fn find_by_receipt(
    client: &impl GenericClient,
    till: &str,
    receipt_no: i64,
) -> Result<Option<SoldPurchase>> {
    let Some(row) = client.query_opt(FIND, &[&till, &receipt_no]).await? else {
        return Ok(None);
    };
    let lines = lines_from(
        row.try_get("product_ids")?,
        row.try_get("product_names")?,
        row.try_get("unit_prices")?,
    );
    let purchase_id: i64 = row.try_get("purchase_id")?;
    let receipt = Receipt {
        purchase_id,
        sale_key: row
            .try_get::<_, Option<Uuid>>("sale_key")?
            .unwrap_or_default(),
        supermarket_id: row.try_get("supermarket_id")?,
        user_id: row.try_get("user_id")?,
        new_customer: false,
        created_at: row.try_get("created_at")?,
        lines,
        total_amount: row.try_get("total_amount")?,
        replayed: true,
        till: row.try_get("till")?,
        cashier: row.try_get("cashier")?,
        receipt_no: row.try_get("receipt_no")?,
        payment_method: payment_method_from_db(row.try_get("payment_method")?),
        tendered: row.try_get("tendered")?,
        change_due: row.try_get("change_due")?,
    };
    let voided = match row.try_get::<_, Option<DateTime<Utc>>>("voided_at")? {
        Some(voided_at) => Some(VoidRecord {
            purchase_id,
            voided_at,
            till: row
                .try_get::<_, Option<String>>("void_till")?
                .unwrap_or_default(),
            cashier: row.try_get("void_cashier")?,
            manager: row.try_get("void_manager")?,
            reason: row.try_get("void_reason")?,
            amount: row.try_get("void_amount")?,
            replayed: true,
        }),
        None => None,
    };
    let stored: Vec<StoredRefund> =
        serde_json::from_value(row.try_get::<_, serde_json::Value>("refunds")?).map_err(|e| {
            crate::error::Error::Invalid(format!(
                "the refunds of purchase {purchase_id} could not be read: {e}"
            ))
        })?;
    let refunds: Vec<RefundRecord> = stored
        .into_iter()
        .map(|r| RefundRecord {
            refund_id: r.refund_id,
            purchase_id,
            refunded_at: r.refunded_at,
            till: r.till.unwrap_or_default(),
            cashier: r.cashier,
            manager: r.manager,
            reason: r.reason,
            amount: r.amount,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReceiptLine {
                    product_id: l.product_id,
                    name: l.name,
                    unit_price: l.unit_price,
                })
                .collect(),
            payment_method: payment_method_from_db(r.payment_method),
            replayed: true,
        })
        .collect();
    let mut refunded_product_ids: Vec<i32> = refunds
        .iter()
        .flat_map(|r| r.lines.iter().map(|l| l.product_id))
        .collect();
    refunded_product_ids.sort_unstable();
    Ok(Some(SoldPurchase {
        receipt,
        voided,
        refunded_product_ids,
        refunds,
    }))
}

fn lines_from(ids: Vec<i32>, names: Vec<String>, prices: Vec<Decimal>) -> Vec<ReceiptLine> {
    ids.into_iter()
        .zip(names)
        .zip(prices)
        .map(|((product_id, name), unit_price)| ReceiptLine {
            product_id,
            name,
            unit_price,
        })
        .collect()
}

const VOID: &str = "SELECT purchase_id, voided_at, till, cashier, manager, reason, amount, \
     replayed, refused FROM public.void_purchase($1, $2, $3, $4, $5, $6, $7)";

const REFUND: &str = "SELECT refund_id, purchase_id, refunded_at, till, cashier, manager, reason, \
     amount, payment_method, product_ids, product_names, unit_prices, replayed, refused \
     FROM public.refund_purchase($1, $2, $3, $4, $5, $6, $7, $8)";

/// The one refusal void_purchase and refund_purchase return as a row rather than raise (so that
/// its record of the failure is kept): a wrong manager PIN.
const WRONG_PIN: &str = "ICV09";

/// An attempt's answer: the database's refusal of the manager's PIN, or its row.
enum Answer<T> {
    Done(T),
    WrongPin,
}

/// Voids the purchase whole. Retried (same key) after a lost connection or a conflict.
pub async fn void_purchase(
    store: &Store,
    request: &VoidRequest,
) -> std::result::Result<VoidRecord, RefundError> {
    check_reason(&request.reason)?;
    let reason = request.reason.trim();
    match with_retries(store, |client| async move {
        let result = void_once(&client, request, reason).await;
        (client, result)
    })
    .await?
    {
        Answer::Done(record) => Ok(record),
        Answer::WrongPin => Err(RefundError::WrongPin(request.manager)),
    }
}

async fn void_once(
    client: &deadpool_postgres::Object,
    request: &VoidRequest,
    reason: &str,
) -> std::result::Result<Answer<VoidRecord>, tokio_postgres::Error> {
    {
        let row = client
            .query_one(
                VOID,
                &[
                    &request.void_key,
                    &request.purchase_id,
                    &request.till,
                    &request.cashier,
                    &request.manager,
                    &request.manager_pin.expose(),
                    &reason,
                ],
            )
            .await?;
        if row.try_get::<_, Option<&str>>("refused")? == Some(WRONG_PIN) {
            return Ok(Answer::WrongPin);
        }
        Ok(Answer::Done(VoidRecord {
            purchase_id: row.try_get("purchase_id")?,
            voided_at: row.try_get("voided_at")?,
            till: row
                .try_get::<_, Option<String>>("till")?
                .unwrap_or_default(),
            cashier: row.try_get("cashier")?,
            manager: row.try_get("manager")?,
            reason: row.try_get("reason")?,
            amount: row.try_get("amount")?,
            replayed: row.try_get("replayed")?,
        }))
    }
}

/// Refunds the chosen lines (all that are left when none is chosen). Retried (same key) after a
/// lost connection or a conflict.
pub async fn refund_purchase(
    store: &Store,
    request: &RefundRequest,
) -> std::result::Result<RefundRecord, RefundError> {
    check_reason(&request.reason)?;
    let reason = request.reason.trim();
    match with_retries(store, |client| async move {
        let result = refund_once(&client, request, reason).await;
        (client, result)
    })
    .await?
    {
        Answer::Done(record) => Ok(record),
        Answer::WrongPin => Err(RefundError::WrongPin(request.manager)),
    }
}

async fn refund_once(
    client: &deadpool_postgres::Object,
    request: &RefundRequest,
    reason: &str,
) -> std::result::Result<Answer<RefundRecord>, tokio_postgres::Error> {
    {
        let row = client
            .query_one(
                REFUND,
                &[
                    &request.refund_key,
                    &request.purchase_id,
                    &request.product_ids,
                    &request.till,
                    &request.cashier,
                    &request.manager,
                    &request.manager_pin.expose(),
                    &reason,
                ],
            )
            .await?;
        if row.try_get::<_, Option<&str>>("refused")? == Some(WRONG_PIN) {
            return Ok(Answer::WrongPin);
        }
        Ok(Answer::Done(RefundRecord {
            refund_id: row.try_get("refund_id")?,
            purchase_id: row.try_get("purchase_id")?,
            refunded_at: row.try_get("refunded_at")?,
            till: row
                .try_get::<_, Option<String>>("till")?
                .unwrap_or_default(),
            cashier: row.try_get("cashier")?,
            manager: row.try_get("manager")?,
            reason: row.try_get("reason")?,
            amount: row.try_get("amount")?,
            payment_method: payment_method_from_db(row.try_get("payment_method")?),
            lines: lines_from(
                row.try_get("product_ids")?,
                row.try_get("product_names")?,
                row.try_get("unit_prices")?,
            ),
            replayed: row.try_get("replayed")?,
        }))
    }
}

/// The longest reason the tables take.
pub const MAX_REASON_CHARS: usize = 200;

fn check_reason(reason: &str) -> std::result::Result<(), RefundError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(RefundError::EmptyReason);
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(RefundError::Refused(format!(
            "the reason is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(())
}

const CONFLICT_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(5), Duration::from_millis(40));
const UNAVAILABLE_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(100), Duration::from_millis(100));

/// Runs `call` on a pooled connection, again (the key makes it safe) after a serialisation
/// conflict (4 times at most) or a lost connection (once); a lost connection is not pooled again.
/// `call` takes the connection and gives it back with its answer, so that the future borrows
/// nothing per attempt and stays `Send` (an effect runs it on any of tokio's threads).
async fn with_retries<T, Attempt>(
    store: &Store,
    call: impl Fn(deadpool_postgres::Object) -> Attempt,
) -> std::result::Result<T, RefundError>
where
    Attempt: Future<
        Output = (
            deadpool_postgres::Object,
            std::result::Result<T, tokio_postgres::Error>,
        ),
    >,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (result, conflict) = match store.client().await {
            Ok(client) => match call(client).await {
                (_, Ok(value)) => return Ok(value),
                (client, Err(e)) => {
                    let conflict =
                        matches!(e.code().map(|c| c.code()), Some("40001") | Some("40P01"));
                    let error = classify(&e);
                    if error.is_connection_problem() {
                        store.discard(client);
                    }
                    (error, conflict)
                }
            },
            Err(e) => (RefundError::Unavailable(e.to_string()), false),
        };
        match result {
            _ if conflict && attempt < 5 => tokio::time::sleep(CONFLICT_RETRY.delay(attempt)).await,
            RefundError::Unavailable(_) if attempt < 2 => {
                tokio::time::sleep(UNAVAILABLE_RETRY.delay(attempt)).await
            }
            other => return Err(other),
        }
    }
}

fn id_list(detail: Option<&str>) -> Vec<i32> {
    detail
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn classify(e: &tokio_postgres::Error) -> RefundError {
    let Some(db) = e.as_db_error() else {
        return RefundError::Unavailable(describe_db_error(e));
    };
    match db.code().code() {
        "ICV01" => RefundError::NotFound,
        "ICV02" => RefundError::AlreadyVoided,
        "ICV03" => RefundError::AlreadyRefunded {
            product_ids: id_list(db.detail()),
        },
        "ICV04" => RefundError::HasRefunds,
        "ICV05" => {
            RefundError::NotAManager(db.detail().and_then(|d| d.parse().ok()).unwrap_or_default())
        }
        "ICV06" => RefundError::NotInPurchase(id_list(db.detail())),
        "ICV07" => RefundError::EmptyReason,
        "ICV10" => RefundError::TooManyWrongPins(
            db.detail().and_then(|d| d.parse().ok()).unwrap_or_default(),
        ),
        "ICV11" => RefundError::NotInThisShift,
        _ if crate::error::is_read_only_server(e) || crate::error::is_connection_error(e) => {
            RefundError::Unavailable(describe_db_error(e))
        }
        _ => RefundError::Refused(describe_db_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checkout::receipt_number;

    #[test]
    fn a_receipt_number_reads_back_as_printed() {
        assert_eq!(
            parse_receipt_number("T03-000124"),
            Some(("T03".to_string(), 124))
        );
        assert_eq!(
            parse_receipt_number(" till-2-1234567 "),
            Some(("till-2".to_string(), 1_234_567))
        );
        for (till, n) in [("T03", 1), ("A_b-9", 999_999_999_999)] {
            assert_eq!(
                parse_receipt_number(&receipt_number(till, n)),
                Some((till.to_string(), n))
            );
        }
        for bad in [
            "",
            "T03",
            "T03-",
            "-000124",
            "T03-0",
            "T03-12a",
            "T 3-000001",
            "T03-+12",
        ] {
            assert_eq!(parse_receipt_number(bad), None, "{bad:?}");
        }
        assert_eq!(parse_receipt_number("T03-1000000000000"), None);
    }

    #[test]
    fn refusals_read_as_sentences() {
        assert_eq!(
            RefundError::AlreadyRefunded {
                product_ids: vec![2, 5]
            }
            .to_string(),
            "refunded already: product 2, product 5"
        );
        assert_eq!(
            RefundError::NotAManager(7).to_string(),
            "cashier 7 is not a manager: a manager confirms voids and refunds"
        );
    }

    #[test]
    fn a_manager_pin_is_never_printed_nor_serialised() {
        let request = VoidRequest {
            void_key: Uuid::nil(),
            purchase_id: 1,
            till: "T1".into(),
            cashier: None,
            manager: 9,
            manager_pin: ManagerPin::new("97531"),
            reason: "wrong item".into(),
        };
        assert!(!format!("{request:?}").contains("97531"));
        assert!(!serde_json::to_string(&request).unwrap().contains("97531"));
    }

    /// A till runs voids and refunds as tokio tasks, which must be `Send`.
    #[allow(dead_code, clippy::diverging_sub_expression)]
    fn voids_and_refunds_can_be_spawned(store: &Store, void: &VoidRequest, refund: &RefundRequest) {
        fn is_send<T: Send>(_: T) {}
        is_send(void_purchase(store, void));
        is_send(refund_purchase(store, refund));
    }
}
