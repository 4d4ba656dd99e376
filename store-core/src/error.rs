//! The library's error type: every failure a user can meet, in words that say what and where.

use std::path::PathBuf;

use rust_decimal::Decimal;
use uuid::Uuid;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid database connection string: {0}")]
    BadDatabaseUrl(String),

    #[error(
        "cannot reach the database at {target} (tried for {:.1} s): {reason}\n\
         hint: check that the server runs, or point DATABASE_URL / --database-url at one",
        .elapsed.as_secs_f64()
    )]
    Unreachable {
        target: String,
        /// How long it was really tried.
        elapsed: std::time::Duration,
        reason: String,
    },

    /// The server answered and said no: a wrong password, an unknown role or database, no
    /// right to log in or connect. Waiting does not mend it, so it is never retried.
    #[error(
        "the database at {target} refused role \"{role}\" on database \"{database}\": {reason}\n\
         hint: {hint}"
    )]
    Rejected {
        target: String,
        role: String,
        database: String,
        reason: String,
        hint: String,
    },

    /// Something answers at the address, but not the PostgreSQL protocol.
    #[error(
        "{target} is not a PostgreSQL server: it answered {answer}\n\
         hint: check the host and port in DATABASE_URL / --database-url"
    )]
    NotPostgres { target: String, answer: String },

    #[error(
        "no PostgreSQL server binaries found (looked on PATH, in `pg_config --bindir` and in \
         /usr/lib/postgresql/*/bin)\n\
         hint: install PostgreSQL (`apt install postgresql`) or set DATABASE_URL to an existing server"
    )]
    NoPostgresBinaries,

    #[error("embedded database in {dir}: {message}")]
    LocalServer { dir: PathBuf, message: String },

    /// A problem at a place in a file (a CSV row, the config file, the till's journal).
    #[error("{path}:{line}: {field}: {message}")]
    AtLine {
        path: String,
        line: u64,
        field: String,
        message: String,
    },

    #[error("{path}: {message}")]
    File { path: String, message: String },

    #[error(
        "the database schema is version {found}, newer than this program's {supported}; upgrade store-core"
    )]
    SchemaTooNew { found: i32, supported: i32 },

    #[error(
        "the database is at schema {found}, this program needs {needed}: run `store-core migrate`"
    )]
    SchemaTooOld { found: i32, needed: i32 },

    #[error(transparent)]
    Checkout(#[from] CheckoutError),

    #[error("{0}")]
    Invalid(String),

    #[error("database error: {}", describe_db_error(.0))]
    Db(#[from] tokio_postgres::Error),

    #[error("database pool: {0}")]
    Pool(String),

    /// The OS error is part of the message and deliberately not the error's `source()`: a
    /// report that prints the chain (`{:#}`) would print it twice.
    #[error("{context}: {cause}")]
    Io {
        context: String,
        cause: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            cause: source,
        }
    }

    /// True for failures worth retrying later: the database is unreachable or went away.
    pub fn is_connection_problem(&self) -> bool {
        match self {
            Error::Unreachable { .. } | Error::Pool(_) => true,
            Error::Db(e) => is_connection_error(e) || is_read_only_server(e),
            Error::Checkout(c) => c.is_connection_problem(),
            _ => false,
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(db) => Error::Db(db),
            other => Error::Pool(other.to_string()),
        }
    }
}

/// A tokio-postgres error with the server's message, detail and hint when there are some.
pub fn describe_db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = db.message().to_string();
            if let Some(d) = db.detail() {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            if let Some(h) = db.hint() {
                s.push_str("; hint: ");
                s.push_str(h);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                source = inner.source();
            }
            s
        }
    }
}

/// True when the error means the connection is gone (not that the statement was refused).
pub fn is_connection_error(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        Some(db) => {
            let c = db.code().code();
            // 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
            c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03"
                // Insufficient resources that ended the session (53300 too many connections, at
                // connection time): no session to be had now. (A statement refused for lack of
                // resources is an ERROR, on a connection that still works.)
                || (c.starts_with("53")
                    && db.parsed_severity() == Some(tokio_postgres::error::Severity::Fatal))
        }
        // Not the server's word: the transport failed (an io error underneath: refused, reset,
        // timed out) or no answer came in time. A value that does not decode (FromSql), or any
        // other client-side refusal, leaves the connection working: retrying it as "lost"
        // would fail the same way forever.
        None => {
            e.to_string().starts_with("timeout waiting for server")
                || std::iter::successors(std::error::Error::source(e), |inner| inner.source())
                    .any(|inner| inner.is::<std::io::Error>())
        }
    }
}

/// True when the server refused a write because it is read-only (SQLSTATE 25006): a hot
/// standby, or a primary demoted by a failover. The connection works but is no use for writing:
/// drop it and connect again (`target_session_attrs=read-write` then finds the primary).
pub fn is_read_only_server(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION)
}

/// Why a sale was not recorded (the checkout's refusal, or the database's failure).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("unknown supermarket {0:?}")]
    UnknownBranch(String),
    #[error("unknown product: {0}")]
    UnknownProduct(String),
    /// Retired at or before the sale's time; which product(s), as `name (id N)`.
    #[error("no longer sold: {0}; remove it from the sale")]
    RetiredProduct(String),
    #[error("unknown cashier number {0}: sign in again")]
    UnknownCashier(i32),
    /// The till's receipt number is another sale's already (two tills sharing an id, a journal
    /// replaced while it held unsent numbers, another program numbering this till's sales).
    /// Not the sale's fault: the journal renumbers the sale from the database's numbers and
    /// sends it again ([`crate::till::journal`]); a sale still colliding stays queued.
    #[error("{0}")]
    ReceiptNumberTaken(String),
    /// The sale's receipt number is outside 1 ..= [`crate::domain::checkout::MAX_RECEIPT_NO`]
    /// (only a damaged or hand-edited journal holds one): refused, so that a queued sale
    /// holding it is kept for a person rather than blocking the queue.
    #[error("{0}")]
    ReceiptNumberOutOfRange(String),
    #[error("a product appears more than once; a purchase holds one unit of each product")]
    DuplicateProduct,
    #[error("the cart is empty: add at least one product")]
    EmptyCart,
    #[error("unknown customer {0}: choose a known customer or a new one")]
    UnknownCustomer(Uuid),
    #[error("prices changed: the till showed {expected}, current prices make {actual}")]
    TotalMismatch { expected: Decimal, actual: Decimal },
    #[error(
        "sale key {0} was already used for another sale (other branch, customer or products); this sale was not recorded"
    )]
    SaleKeyReused(Uuid),
    #[error("{0}")]
    ImplausibleTime(String),
    /// Cash tendered is less than the total (refused for a live sale only; SQLSTATE ICT03).
    #[error("{tendered} tendered is less than the total {total}")]
    TenderedTooLittle { total: Decimal, tendered: Decimal },
    /// A payment the checkout does not take: an amount tendered for a card (ICT04).
    #[error("{0}")]
    BadPayment(String),
    #[error("the database is unreachable: {0}")]
    Unavailable(String),
    #[error("a concurrent sale conflicted with this one; sending it again is safe: {0}")]
    Conflict(String),
    #[error("the database refused the sale: {0}")]
    Refused(String),
    /// The till could not write the sale to its journal before sending it, so it was not sent
    /// (neither the checkout's refusal of the sale nor a connection problem).
    #[error("the till's journal could not be written: {0}; the sale was not sent")]
    Journal(String),
}

impl CheckoutError {
    /// The checkout's own refusal of this sale (what it holds is wrong): the only errors for
    /// which a queued, paid sale may be set aside as refused. Every other error (the database
    /// unreachable, a timeout, a cancel, a read-only standby, out of resources, ...) is
    /// transient: the sale stays queued and is sent again.
    pub fn is_business_refusal(&self) -> bool {
        matches!(
            self,
            CheckoutError::UnknownBranch(_)
                | CheckoutError::UnknownProduct(_)
                | CheckoutError::RetiredProduct(_)
                | CheckoutError::UnknownCashier(_)
                | CheckoutError::ReceiptNumberOutOfRange(_)
                | CheckoutError::DuplicateProduct
                | CheckoutError::EmptyCart
                | CheckoutError::UnknownCustomer(_)
                | CheckoutError::TotalMismatch { .. }
                | CheckoutError::SaleKeyReused(_)
                | CheckoutError::ImplausibleTime(_)
                | CheckoutError::TenderedTooLittle { .. }
                | CheckoutError::BadPayment(_)
        )
    }

    /// Worth sending again later with the same sale key.
    pub fn is_connection_problem(&self) -> bool {
        matches!(
            self,
            CheckoutError::Unavailable(_) | CheckoutError::Conflict(_)
        )
    }
}
