//! Checkout: a sale recorded whole or not at all, in one round trip, with a total computed by the
//! database, and an idempotency key so that a retried submission never makes a second purchase.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::store::Store;
use crate::error::{CheckoutError, describe_db_error};
use crate::retry::RetryPolicy;

/// Who is buying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user_id", rename_all = "snake_case")]
pub enum CustomerChoice {
    /// A first-time customer: the till generated this UUIDv4 when the sale opened.
    New(Uuid),
    /// A known customer; the sale is refused if the id has never bought anything.
    Returning(Uuid),
}

impl CustomerChoice {
    pub fn new_customer() -> Self {
        CustomerChoice::New(Uuid::new_v4())
    }
    pub fn user_id(&self) -> Uuid {
        match self {
            CustomerChoice::New(id) | CustomerChoice::Returning(id) => *id,
        }
    }
    pub fn is_new(&self) -> bool {
        matches!(self, CustomerChoice::New(_))
    }
}

/// How a sale was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    Cash,
    Card,
}

impl PaymentMethod {
    /// The name the database stores (`purchase.payment_method`).
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
        }
    }

    /// The stored name read back; None for anything else.
    pub fn from_db(name: &str) -> Option<PaymentMethod> {
        match name {
            "cash" => Some(PaymentMethod::Cash),
            "card" => Some(PaymentMethod::Card),
            _ => None,
        }
    }
}

impl std::fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the customer paid with. The database computes the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub method: PaymentMethod,
    /// Cash only: the amount tendered; None is the exact amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendered: Option<Decimal>,
}

impl Payment {
    pub fn card() -> Payment {
        Payment {
            method: PaymentMethod::Card,
            tendered: None,
        }
    }

    /// Cash; `tendered` None: the exact amount.
    pub fn cash(tendered: Option<Decimal>) -> Payment {
        Payment {
            method: PaymentMethod::Cash,
            tendered,
        }
    }
}

/// A sale as a till submits it. The sale key is chosen when the sale opens and travels with
/// every retry of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub sale_key: Uuid,
    pub supermarket_id: String,
    pub customer: CustomerChoice,
    pub product_ids: Vec<i32>,
    /// The total the till showed; a different total at current prices is refused.
    pub expected_total: Option<Decimal>,
    /// When the sale happened, for sales sent late (offline journal); None: now.
    pub sold_at: Option<DateTime<Utc>>,
    /// The till selling (the branch id rule: 1-32 letters, digits, - or _); None for a sale
    /// from no till (`store-core simulate`, `purchase`, the bench).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,
    /// The signed-in cashier's number; None when the chain records no cashiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cashier: Option<i32>,
    /// The till's receipt number, assigned by its journal
    /// ([`crate::till::journal::submit_durably`]); callers leave it None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<i64>,
    /// How it was paid; None when there was no payment step (`store-core simulate`, the API,
    /// journal lines from before payments). The journal keeps it, so an offline sale keeps its
    /// payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
}

impl Sale {
    /// A new sale with a fresh key. Keys are UUIDv7 (time-ordered): unique like any UUID, and
    /// cheap to index because new keys land at the end of the index.
    pub fn open(supermarket_id: impl Into<String>, customer: CustomerChoice) -> Sale {
        Sale {
            sale_key: Uuid::now_v7(),
            supermarket_id: supermarket_id.into(),
            customer,
            product_ids: Vec::new(),
            expected_total: None,
            sold_at: None,
            till: None,
            cashier: None,
            receipt_no: None,
            payment: None,
        }
    }

    /// The same sale, paid with `payment`.
    pub fn paid_with(self, payment: Payment) -> Sale {
        Sale {
            payment: Some(payment),
            ..self
        }
    }

    /// The same sale, made at `till` by `cashier` (None: the chain records no cashiers).
    pub fn at_till(self, till: impl Into<String>, cashier: Option<i32>) -> Sale {
        Sale {
            till: Some(till.into()),
            cashier,
            ..self
        }
    }
}

/// The highest receipt number a till may give (the purchase table's CHECK holds the same bound):
/// twelve digits, so that a number never overflows nor prints wider than a receipt allows.
pub const MAX_RECEIPT_NO: i64 = 999_999_999_999;

/// A receipt number as printed: `{till}-{receipt_no:06}`, e.g. `T03-000124`.
pub fn receipt_number(till: &str, receipt_no: i64) -> String {
    format!("{till}-{receipt_no:06}")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    pub product_id: i32,
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub purchase_id: i64,
    pub sale_key: Uuid,
    pub supermarket_id: String,
    pub user_id: Uuid,
    /// This purchase made the customer's row (for a replayed key: it is the customer's first).
    pub new_customer: bool,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<ReceiptLine>,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_amount: Decimal,
    /// True when this sale key had been recorded before: this is that purchase, not a new one.
    pub replayed: bool,
    /// The till, cashier and receipt number the purchase was recorded with (None for a sale
    /// from no till).
    pub till: Option<String>,
    pub cashier: Option<i32>,
    pub receipt_no: Option<i64>,
    /// How it was paid (None: history, or no payment step); for cash, the amount tendered and
    /// the change given (None when unknown).
    pub payment_method: Option<PaymentMethod>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub tendered: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub change_due: Option<Decimal>,
}

impl Receipt {
    /// The receipt number as printed (`T03-000124`), when the sale was made at a till.
    pub fn receipt_number(&self) -> Option<String> {
        Some(receipt_number(self.till.as_deref()?, self.receipt_no?))
    }
}

const RECORD_PURCHASE: &str = "SELECT purchase_id, supermarket_id, user_id, new_customer, \
     created_at, total_amount, replayed, product_ids, product_names, unit_prices, till, cashier, \
     receipt_no, payment_method, tendered, change_due \
     FROM public.record_purchase($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// How a sale reaches the checkout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sending {
    /// While the cashier is there to change it: a retired product is refused (ICP04).
    Live,
    /// From the till's journal, late: paid already, so a product retired since is sold.
    Queued,
}

/// Records `sale` on one connection, or inside a transaction the caller commits. One round trip
/// (the statement is prepared once per connection). The receipt is the purchase as the
/// database holds it (for a replayed key, as it was first recorded).
pub async fn record_purchase(
    client: &impl deadpool_postgres::GenericClient,
    sale: &Sale,
) -> Result<Receipt, CheckoutError> {
    record(client, sale, Sending::Live).await
}

/// Records a sale the till queued while offline and sends late ([`crate::till::journal::drain`]):
/// like [`record_purchase`], except that a product retired since is no refusal (the customer
/// has paid).
pub async fn record_queued_purchase(
    client: &impl deadpool_postgres::GenericClient,
    sale: &Sale,
) -> Result<Receipt, CheckoutError> {
    record(client, sale, Sending::Queued).await
}

async fn record(
    client: &impl deadpool_postgres::GenericClient,
    sale: &Sale,
    sending: Sending,
) -> Result<Receipt, CheckoutError> {
    if sale.product_ids.is_empty() {
        return Err(CheckoutError::EmptyCart);
    }
    let method = sale.payment.as_ref().map(|p| p.method.as_str());
    let tendered = sale.payment.as_ref().and_then(|p| p.tendered);
    let statement = client
        .prepare_cached(RECORD_PURCHASE)
        .await
        .map_err(|e| classify(&e, sale))?;
    let row = client
        .query_one(
            &statement,
            &[
                &sale.sale_key,
                &sale.supermarket_id,
                &sale.customer.user_id(),
                &sale.customer.is_new(),
                &sale.product_ids,
                &sale.expected_total,
                &sale.sold_at,
                &sale.till,
                &sale.cashier,
                &sale.receipt_no,
                &(sending == Sending::Queued),
                &method,
                &tendered,
            ],
        )
        .await
        .map_err(|e| classify(&e, sale))?;
    receipt_from_row(&row, sale.sale_key).map_err(|e| {
        CheckoutError::Refused(format!(
            "the recorded purchase could not be read back: {}",
            describe_db_error(&e)
        ))
    })
}

fn receipt_from_row(
    row: &tokio_postgres::Row,
    sale_key: Uuid,
) -> Result<Receipt, tokio_postgres::Error> {
    let ids: Vec<i32> = row.try_get("product_ids")?;
    let names: Vec<String> = row.try_get("product_names")?;
    let prices: Vec<Decimal> = row.try_get("unit_prices")?;
    Ok(Receipt {
        purchase_id: row.try_get("purchase_id")?,
        sale_key,
        supermarket_id: row.try_get("supermarket_id")?,
        user_id: row.try_get("user_id")?,
        new_customer: row.try_get("new_customer")?,
        created_at: row.try_get("created_at")?,
        total_amount: row.try_get("total_amount")?,
        replayed: row.try_get("replayed")?,
        till: row.try_get("till")?,
        cashier: row.try_get("cashier")?,
        receipt_no: row.try_get("receipt_no")?,
        payment_method: payment_method_from_db(row.try_get("payment_method")?),
        tendered: row.try_get("tendered")?,
        change_due: row.try_get("change_due")?,
        lines: ids
            .into_iter()
            .zip(names)
            .zip(prices)
            .map(|((product_id, name), unit_price)| ReceiptLine {
                product_id,
                name,
                unit_price,
            })
            .collect(),
    })
}

/// A stored payment method; a name this program does not know reads as unknown (None), never as
/// a failure.
pub(crate) fn payment_method_from_db(name: Option<String>) -> Option<PaymentMethod> {
    name.as_deref().and_then(PaymentMethod::from_db)
}

/// A serialisation conflict is tried again after a short wait, four times at most.
const CONFLICT_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(5), Duration::from_millis(40));
/// A connection lost mid-flight is tried again once.
const UNAVAILABLE_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_millis(100), Duration::from_millis(100));

/// Records `sale` through the pool, retrying what is safe to retry (the sale key makes every
/// retry idempotent): a serialisation conflict or a connection lost mid-flight. A connection
/// that failed so (lost, or to a server that became read-only) is not given back to the pool:
/// the next one is made afresh, to whichever host is the primary now.
pub async fn submit(store: &Store, sale: &Sale) -> Result<Receipt, CheckoutError> {
    submit_as(store, sale, Sending::Live).await
}

/// [`submit`] for a sale the till queued while offline ([`record_queued_purchase`]).
pub async fn submit_queued(store: &Store, sale: &Sale) -> Result<Receipt, CheckoutError> {
    submit_as(store, sale, Sending::Queued).await
}

async fn submit_as(store: &Store, sale: &Sale, sending: Sending) -> Result<Receipt, CheckoutError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = match store.client().await {
            Ok(client) => {
                let result = record(&client, sale, sending).await;
                if matches!(result, Err(CheckoutError::Unavailable(_))) {
                    store.discard(client);
                }
                result
            }
            Err(e) => Err(CheckoutError::Unavailable(e.to_string())),
        };
        match result {
            Err(CheckoutError::Conflict(_)) if attempt < 5 => {
                tokio::time::sleep(CONFLICT_RETRY.delay(attempt)).await;
            }
            Err(CheckoutError::Unavailable(_)) if attempt < 2 => {
                tokio::time::sleep(UNAVAILABLE_RETRY.delay(attempt)).await;
            }
            other => return other,
        }
    }
}

fn classify(e: &tokio_postgres::Error, sale: &Sale) -> CheckoutError {
    let Some(db) = e.as_db_error() else {
        return CheckoutError::Unavailable(describe_db_error(e));
    };
    match db.code().code() {
        "ICB01" => CheckoutError::UnknownBranch(sale.supermarket_id.clone()),
        "23503" if db.constraint() == Some("purchase_supermarket_id_fkey") => {
            CheckoutError::UnknownBranch(sale.supermarket_id.clone())
        }
        "ICP01" => CheckoutError::UnknownProduct(
            db.message()
                .trim_start_matches("unknown product id(s): ")
                .to_string(),
        ),
        "ICP04" => CheckoutError::RetiredProduct(
            db.message()
                .trim_start_matches("no longer sold: ")
                .to_string(),
        ),
        "23503" if db.constraint() == Some("purchase_cashier_fkey") => {
            CheckoutError::UnknownCashier(sale.cashier.unwrap_or_default())
        }
        "ICK03" => CheckoutError::ReceiptNumberTaken(db.message().to_string()),
        "23514" if db.constraint() == Some("purchase_receipt_no_check") => {
            CheckoutError::ReceiptNumberOutOfRange(format!(
                "receipt number {} is out of range (a till numbers its receipts from 1 to \
                 {MAX_RECEIPT_NO}); this sale was not recorded",
                sale.receipt_no
                    .map_or_else(|| "(none)".to_string(), |n| n.to_string())
            ))
        }
        "ICP02" => CheckoutError::DuplicateProduct,
        "ICP03" => CheckoutError::EmptyCart,
        "ICC01" => CheckoutError::UnknownCustomer(sale.customer.user_id()),
        "ICK01" => CheckoutError::SaleKeyReused(sale.sale_key),
        "ICT02" => CheckoutError::ImplausibleTime(db.message().to_string()),
        "ICT03" => CheckoutError::TenderedTooLittle {
            total: db.detail().and_then(|d| d.parse().ok()).unwrap_or_default(),
            tendered: sale
                .payment
                .as_ref()
                .and_then(|p| p.tendered)
                .unwrap_or_default(),
        },
        "ICT04" => CheckoutError::BadPayment(db.message().to_string()),
        "ICT01" => CheckoutError::TotalMismatch {
            expected: sale.expected_total.unwrap_or_default(),
            actual: db.detail().and_then(|d| d.parse().ok()).unwrap_or_default(),
        },
        // Serialisation failure, deadlock: safe to retry with the same key.
        "40001" | "40P01" => CheckoutError::Conflict(db.message().to_string()),
        // A read-only server (a standby, or a primary demoted by a failover): the primary is
        // elsewhere now, and the sale waits for it.
        _ if crate::error::is_read_only_server(e) => CheckoutError::Unavailable(format!(
            "the server is read-only (a standby, or a failover in progress): {}",
            describe_db_error(e)
        )),
        _ if crate::error::is_connection_error(e) => {
            CheckoutError::Unavailable(describe_db_error(e))
        }
        _ => CheckoutError::Refused(describe_db_error(e)),
    }
}

const LAST_RECEIPT_NO: &str = "SELECT public.last_receipt_no($1)";

/// The highest receipt number the database holds for `till` (0 when none): a till starting a
/// new journal continues from it ([`crate::till::journal::Journal::align_receipt_numbers`]).
pub async fn last_receipt_no(
    client: &impl deadpool_postgres::GenericClient,
    till: &str,
) -> crate::error::Result<i64> {
    Ok(client
        .query_one(LAST_RECEIPT_NO, &[&till])
        .await?
        .try_get(0)?)
}
