//! The till as a state machine: `update(&mut State, Msg) -> Vec<Effect>`. Nothing here waits on
//! the database, reads the clock or draws a random number: effects are run elsewhere
//! (effects.rs) and their results come back as `Msg`s; time comes with `Msg::Tick`, new ids from
//! the state's injected `Ids`, and the time zone from `State::time_zone`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use crossterm::event::{KeyEvent, KeyEventKind};
use rust_decimal::Decimal;
use store_core::domain::cashier::{Cashier, CashierCredential};
use store_core::domain::catalog::{Catalog, CustomerSummary, Product};
use store_core::domain::checkout::{CustomerChoice, Payment, Receipt, ReceiptLine, Sale};
use store_core::domain::refund::{
    ManagerPin, RefundError, RefundRecord, RefundRequest, SoldPurchase, VoidRecord, VoidRequest,
};
use store_core::domain::shift::ShiftReport;
use store_core::domain::time_zone::Tz;
use store_core::error::CheckoutError;
use store_core::retry::RetryPolicy;
use store_core::till::journal::{DrainReport, Outcome, RefusedSale};
use uuid::Uuid;

use crate::keymap::{self, Action, Mode};

/// How often the catalog is reloaded when nothing announced a change.
pub const CATALOG_REFRESH: Duration = Duration::from_secs(60);
/// Customer searches wait this long after the last key.
pub const SEARCH_DEBOUNCE_MS: u64 = 250;
/// Customers shown per search.
pub const SEARCH_LIMIT: i64 = 8;
/// Longest product code accepted (an i32 has at most 10 digits).
pub const MAX_CODE_LEN: usize = 9;
/// Longest text accepted in a search box.
pub const MAX_SEARCH_LEN: usize = 64;
/// How often queued (offline) sales are sent again while some are waiting.
pub const DRAIN_EVERY: Duration = Duration::from_secs(3);
/// The longest wait between rounds after rounds that failed in a row.
pub const DRAIN_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Longest reason accepted when a refused sale is set aside.
pub const MAX_REASON_LEN: usize = 120;
/// Longest cashier number accepted (an i32 has at most 10 digits).
pub const MAX_CASHIER_DIGITS: usize = 9;
/// Longest PIN accepted.
pub const MAX_PIN_LEN: usize = 32;
/// A customer card's id as typed or scanned: a hyphenated UUID.
pub const CARD_LEN: usize = 36;
/// The most cash a till takes for one sale, 9999999999.99 (the database keeps numeric(12,2)).
pub const MAX_TENDERED: Decimal = Decimal::from_parts(3_567_587_327, 232, 0, false, 2);

/// The time a tick brings: the wall clock, only shown, and monotonic time since the till
/// started, on which every retry is scheduled (a DST change or an NTP step moves the first,
/// never the second).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub wall: NaiveDateTime,
    pub since_start: Duration,
}

impl Clock {
    pub fn at_start(wall: NaiveDateTime) -> Clock {
        Clock {
            wall,
            since_start: Duration::ZERO,
        }
    }
}

/// Time passing: both clocks move on together (a negative step moves back, at most to the start).
impl std::ops::Add<chrono::Duration> for Clock {
    type Output = Clock;

    fn add(self, step: chrono::Duration) -> Clock {
        let since_start = match step.to_std() {
            Ok(forward) => self.since_start + forward,
            Err(_) => self
                .since_start
                .saturating_sub(step.abs().to_std().unwrap_or_default()),
        };
        Clock {
            wall: self.wall + step,
            since_start,
        }
    }
}

/// Where new ids come from: a first-time customer's id and a sale's key.
pub trait IdSource: Send + Sync {
    fn customer_id(&self) -> Uuid;
    fn sale_key(&self) -> Uuid;
}

/// The real ids: random UUIDv4 customer ids, time-ordered UUIDv7 sale keys (cheap to index
/// because new keys land at the end of the index).
pub struct SystemIds;

impl IdSource for SystemIds {
    fn customer_id(&self) -> Uuid {
        Uuid::new_v4()
    }
    fn sale_key(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Deterministic ids for tests and benches: the n-th id drawn is n in the last 12 hex digits,
/// shaped as a v4 (customers, `00000000-0000-4000-8000-00000000000n`) or a v7 (sale keys,
/// `00000000-0000-7000-8000-00000000000n`) UUID.
#[derive(Default)]
pub struct CountingIds(AtomicU64);

impl CountingIds {
    fn next(&self, version: u128) -> Uuid {
        let n = u128::from(self.0.fetch_add(1, Ordering::Relaxed) + 1);
        Uuid::from_u128((version << 76) | (0x8 << 60) | n)
    }
}

impl IdSource for CountingIds {
    fn customer_id(&self) -> Uuid {
        self.next(4)
    }
    fn sale_key(&self) -> Uuid {
        self.next(7)
    }
}

/// The state's id source. Clones share it (a clone of the state draws from the same sequence);
/// two states are equal only if they share it.
#[derive(Clone)]
pub struct Ids(Arc<dyn IdSource>);

impl Ids {
    pub fn system() -> Ids {
        Ids(Arc::new(SystemIds))
    }
    pub fn counting() -> Ids {
        Ids(Arc::new(CountingIds::default()))
    }
    pub fn new(source: impl IdSource + 'static) -> Ids {
        Ids(Arc::new(source))
    }
    pub fn customer_id(&self) -> Uuid {
        self.0.customer_id()
    }
    pub fn sale_key(&self) -> Uuid {
        self.0.sale_key()
    }
}

impl PartialEq for Ids {
    fn eq(&self, other: &Ids) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Ids {}

impl fmt::Debug for Ids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ids")
    }
}

/// A PIN as it is typed: never drawn, never in a `Debug` print or the log.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// The PIN itself, for checking it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Characters typed (what the screen shows, as `*`).
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

/// Signing a cashier in: at the start of a shift, and after `L`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignIn {
    /// Typing the cashier number.
    Number(String),
    /// Typing this cashier's PIN.
    Pin { cashier: Cashier, pin: Pin },
    /// The PIN is being checked (slow on purpose, in an effect); `attempt` matches the answer.
    Checking { cashier: Cashier, attempt: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Start of shift (or changing branch): choosing the branch.
    Branch(BranchChoice),
    /// The chain records cashiers: who is at the till.
    SignIn(SignIn),
    /// A sale being rung up.
    Sale(Draft),
    Receipt(Box<Receipt>),
    /// The database could not be reached: the sale is saved in the till's journal and will be
    /// sent when the database is back.
    Queued(Box<QueuedSale>),
    /// A void or refund being prepared: the sale, the lines, the reason, the manager.
    Undo(Box<Undo>),
    /// A void or refund written: its slip.
    UndoDone(Box<UndoDone>),
}

/// Which undoing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndoKind {
    /// The last sale of this shift, whole.
    Void,
    /// A sale found by its receipt number, whole or chosen lines.
    Refund,
}

/// Where a void or refund is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UndoStep {
    /// Refund: the receipt number being typed or scanned.
    ReceiptNumber(String),
    /// Refund: the sale being looked up (`seq` matches the answer).
    Looking { seq: u64, typed: String },
    /// Refund: choosing the lines given back.
    Lines,
    /// Typing the reason.
    Reason,
    /// Typing the confirming manager's number.
    ManagerNumber(String),
    /// Typing the manager's PIN.
    ManagerPin { manager: Cashier, pin: Pin },
    /// Sent with the manager's PIN, which the database checks, and written if it is theirs.
    Sending { manager: Cashier },
}

/// A void or refund being prepared. Its key is drawn when it starts and travels with every
/// sending of it, so a retry can never undo twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undo {
    pub kind: UndoKind,
    pub key: Uuid,
    /// The sale undone (a refund's, once found).
    pub sold: Option<Box<SoldPurchase>>,
    /// Refund: the products given back.
    pub chosen: BTreeSet<i32>,
    /// Refund: the selected line among those left to refund.
    pub cursor: usize,
    pub reason: String,
    pub step: UndoStep,
    /// It was sent and the database did not answer: it may have been recorded. Sending it
    /// again (same key) is harmless: it is written once or replayed.
    pub maybe_recorded: bool,
    /// Esc was pressed once since it may have been recorded: the next Esc leaves it.
    pub leaving_warned: bool,
}

impl Undo {
    /// The lines that may be refunded, in the receipt's order.
    pub fn refundable(&self) -> Vec<&ReceiptLine> {
        self.sold
            .as_deref()
            .map(SoldPurchase::refundable_lines)
            .unwrap_or_default()
    }

    /// What the chosen lines (refund) or the sale (void) come to.
    pub fn amount(&self) -> Decimal {
        match (self.kind, self.sold.as_deref()) {
            (UndoKind::Void, Some(sold)) => sold.receipt.total_amount,
            (UndoKind::Refund, Some(_)) => self
                .refundable()
                .iter()
                .filter(|l| self.chosen.contains(&l.product_id))
                .map(|l| l.unit_price)
                .sum(),
            (_, None) => Decimal::ZERO,
        }
    }
}

/// A void or refund the database wrote, with the sale it undid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UndoDone {
    pub done: Undone,
    pub original: Receipt,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undone {
    Void(VoidRecord),
    Refund(RefundRecord),
}

impl Screen {
    pub fn is_sale(&self) -> bool {
        matches!(self, Screen::Sale(_))
    }
    pub fn is_branch_choice(&self) -> bool {
        matches!(self, Screen::Branch(_))
    }
    pub fn is_sign_in(&self) -> bool {
        matches!(self, Screen::SignIn(_))
    }
}

/// The branch list at the start of a shift.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BranchChoice {
    /// The highlighted branch.
    pub cursor: usize,
    /// `--supermarket`, until the catalog confirms it (at the start of the shift only).
    pub wanted: Option<String>,
}

/// A sale saved offline, as its receipt shows it: the lines and total the till showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedSale {
    pub sale: Sale,
    pub lines: Vec<ReceiptLine>,
    pub total: Decimal,
}

/// What the till's journal holds: sales waiting to be sent, and queued sales the database
/// refused (kept, with the reason, until a person deals with them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalStatus {
    pub pending: usize,
    pub refused: Vec<RefusedSale>,
    /// The journal was damaged when it was opened: what was moved to its quarantine file.
    pub warning: Option<String>,
}

/// A refused sale being set aside: the cashier is typing why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAsideDraft {
    pub sale_key: Uuid,
    pub reason: String,
}

/// What the cashier did with a refused sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusedAction {
    /// Back in the queue, to be sent again.
    Resend,
    /// Not to be sent; kept in the journal with the reason.
    SetAside,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbState {
    /// Nothing answered yet.
    Connecting,
    Connected,
    /// The last attempt failed; retrying in the background.
    Reconnecting(String),
}

/// What is drawn over the screen; at most one at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// The keys; `scroll` lines scrolled down when they do not fit.
    Help { scroll: usize },
    /// The queued sales the database refused.
    Refused {
        selected: usize,
        /// The reason being typed to set the selected sale aside.
        set_aside: Option<SetAsideDraft>,
    },
    /// The shift's figures: running (X) or closed (Z).
    Report(Box<ShiftReport>),
}

/// The catalog's next load: running, or due at a monotonic time (like `State::since_start`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogLoad {
    /// `again`: a change was announced while it ran: load again after it.
    Running {
        again: bool,
    },
    Due(Duration),
}

/// The next round of sending queued sales: running, or due at a monotonic time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainRound {
    Running,
    Due(Duration),
}

/// The sale being rung up. Its `sale_key` is fixed when it opens and travels with every
/// submission of it, so a retry can never make a second purchase. The branch is the shift's
/// (`State::branch`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub sale_key: Uuid,
    /// The cart: one unit of each product, in the order added.
    pub products: Vec<i32>,
    /// Each cart line's product as the cashier was shown it (when added, or when new prices
    /// were confirmed): a reloaded catalog with another price marks the line.
    pub shown: BTreeMap<i32, Product>,
    /// None until the cashier chose one.
    pub customer: Option<CustomerChoice>,
    /// A customer card scanned into the code field, being looked up in the database.
    pub card_check: Option<Uuid>,
    /// The selected cart line.
    pub selected: usize,
    pub input: Input,
}

impl Draft {
    pub fn open(sale_key: Uuid) -> Draft {
        Draft {
            sale_key,
            products: Vec::new(),
            shown: BTreeMap::new(),
            customer: None,
            card_check: None,
            selected: 0,
            input: Input::Code(String::new()),
        }
    }

    pub fn lines(&self) -> &[i32] {
        &self.products
    }

    /// Products in the cart or a customer chosen: leaving would drop something.
    fn is_open(&self) -> bool {
        !self.products.is_empty() || self.customer.is_some()
    }
}

/// What the sale's keyboard is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Typing a product code (digits), the normal state of a sale.
    Code(String),
    ProductSearch {
        query: String,
        selected: usize,
    },
    CustomerSearch {
        query: String,
        selected: usize,
        /// Bumped by every key, so that only the latest search is run and shown.
        seq: u64,
        results: Vec<CustomerSummary>,
        /// A search is running.
        searching: bool,
        /// The database cannot be searched: only customers this till has seen confirmed by
        /// the database (`State::vouched`) are offered.
        offline: bool,
        /// `results` are the answer to the query as it is now (not to an earlier one).
        fresh: bool,
        /// Enter was pressed before the results came: a single match is taken when they do.
        take_single: bool,
    },
    /// After `s`: the cash tendered being typed (Enter: cash), or `k` for card.
    Payment {
        tendered: String,
    },
    Confirm(Question),
    /// The sale (with the draft's key) is being written: keys are ignored.
    Submitting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    ClearCart,
    QuitWithCart,
    /// `L` with a sale open: sign out and drop the sale?
    SignOutWithSale,
    /// Prices changed since the lines were added: submit at the new total?
    NewPrices,
    /// A scanned customer card the database does not know: take it as a new customer's?
    NewCard(Uuid),
    /// `Z`: close the shift? Its figures are final then.
    CloseShift,
}

/// How the customer pays, as chosen on the payment screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tender {
    /// Cash: the amount handed over (None: the exact amount).
    Cash(Option<Decimal>),
    Card,
}

/// Where the till prints its receipts (the printer itself is the effects' business).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintSetup {
    /// A printer is set (`--receipt-command` or `--receipt-file`).
    pub printer: bool,
    /// The paper's columns, 42 or 48.
    pub width: usize,
}

/// A receipt or slip as printed: what it is (for messages) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Printout {
    pub what: String,
    pub text: String,
}

/// A cart line against the catalog now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineStatus {
    OnSale,
    /// On sale at another price than the one the cashier was shown.
    PriceChanged {
        was: Decimal,
        now: Decimal,
    },
    /// No longer on sale (not in the reloaded catalog).
    Retired,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Info(String),
    Error(String),
}

/// How long a message stays true, so that it is not left on screen after its condition
/// changed (a "2 queued sales sent" under RECONNECTING).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// Until another message replaces it (news about what the cashier just did).
    UntilReplaced,
    /// While the database answers.
    WhileConnected,
    /// While sales wait in the journal to be sent.
    WhileSalesWait,
    /// While refused queued sales are kept.
    WhileRefusedKept,
    /// While no catalog could be loaded yet.
    WhileNoCatalog,
    /// While catalog loads keep failing.
    WhileCatalogFails,
}

/// The message line: a message and how long it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub message: Message,
    pub holds: Holds,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The wall clock of the last tick, for the screen.
    pub now: NaiveDateTime,
    /// Monotonic time of the last tick (since start), for scheduling.
    pub since_start: Duration,
    /// For the times shown (receipts, searches, refused sales).
    pub time_zone: Tz,
    /// New customer ids and sale keys.
    pub ids: Ids,
    pub db: DbState,
    /// Where the database is (no password), for the status bar.
    pub db_name: String,
    /// The last catalog loaded (kept while reloads fail).
    pub catalog: Option<Catalog>,
    /// The catalog on hand is the one an earlier run kept beside the journal, at this time:
    /// none has been loaded from the database yet this run.
    pub catalog_kept_at: Option<DateTime<Utc>>,
    pub catalog_load: CatalogLoad,
    /// Failed loads in a row, for the back-off.
    pub catalog_failures: u32,
    /// The shift's branch, once chosen (kept while choosing another).
    pub branch: Option<String>,
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    pub notice: Option<Notice>,
    pub sales_done: u32,
    pub no_color: bool,
    pub quit: bool,
    /// Sales in the journal not yet in the database.
    pub pending_sales: usize,
    /// Queued sales the database refused when they were sent.
    pub refused_sales: Vec<RefusedSale>,
    pub drain: DrainRound,
    /// Customers the database confirmed to this till this session (search results, receipts):
    /// the only returning customers that can be sold to offline. Customers are never deleted.
    pub vouched: BTreeSet<Uuid>,
    /// The journal was damaged when the till opened it (see `JournalStatus::warning`).
    pub journal_warning: Option<String>,
    /// Rounds of sending queued sales that failed in a row, for the back-off.
    pub drain_failures: u32,
    /// The terminal's columns and rows (`Msg::Resize`), for how far the help can scroll.
    pub terminal_size: (u16, u16),
    /// This till's id (`--till`): on every sale, in every receipt number.
    pub till: String,
    /// The chain's cashiers, as last loaded (or kept beside the journal); empty: the chain
    /// records no cashier, and nobody signs in.
    pub roster: Vec<CashierCredential>,
    /// Who is signed in at the till.
    pub cashier: Option<Cashier>,
    /// PIN checks started, to match each answer with its check.
    pub pin_attempts: u64,
    /// The journal's receipt numbers were raised to the database's (once per run).
    pub receipt_numbers_aligned: bool,
    /// The receipt printer, if any, and the paper's width.
    pub print_setup: PrintSetup,
    /// The last receipt or slip, for `p`.
    pub last_printout: Option<Printout>,
    /// Print jobs started, to match each answer with its job.
    pub print_jobs: u64,
    /// How the sale being submitted (or just recorded) is paid.
    pub last_tender: Option<Tender>,
    /// The last sale this till recorded in this shift and run: what `V` voids.
    pub last_sale: Option<Box<Receipt>>,
    /// Receipt look-ups started, to match each answer with its look-up.
    pub lookups: u64,
    /// Something drawn changed since the screen was last drawn (`take_dirty`).
    redraw: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbFailure {
    pub message: String,
    /// The database could not be reached (as opposed to refusing something).
    pub connection: bool,
}

impl From<store_core::Error> for DbFailure {
    fn from(e: store_core::Error) -> Self {
        // The first line says what happened; hints on later lines are for the log.
        let text = e.to_string();
        DbFailure {
            connection: e.is_connection_problem(),
            message: text.lines().next().unwrap_or_default().to_string(),
        }
    }
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal's size, at start and after every change.
    Resize {
        width: u16,
        height: u16,
    },
    /// The clocks: every second.
    Tick(Clock),
    /// The periodic health probe's answer: the database answered a trivial query, or not.
    Health(Result<(), DbFailure>),
    CatalogLoaded(Result<Catalog, DbFailure>),
    /// The database announced a catalog change.
    CatalogChanged,
    /// The change listener is (again) listening: announcements made before were missed, and
    /// the database is reachable.
    Listening,
    /// The debounce delay of customer search `seq` is over.
    CustomerSearchDue {
        seq: u64,
    },
    CustomerResults {
        seq: u64,
        result: Result<Vec<CustomerSummary>, DbFailure>,
    },
    Submitted {
        sale_key: Uuid,
        result: Result<Outcome, CheckoutError>,
    },
    /// What the journal holds now (after a submission, and at start).
    Journal(JournalStatus),
    /// A round of sending queued sales is over.
    Drained {
        result: Result<DrainReport, DbFailure>,
        status: JournalStatus,
    },
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// A refused sale was resent or set aside in the journal (or the journal failed to).
    RefusedSaleHandled {
        sale_key: Uuid,
        action: RefusedAction,
        result: Result<(), String>,
        status: JournalStatus,
    },
    /// What the catalog load also read, just before its `CatalogLoaded`: the cashiers, and the
    /// highest receipt number the database holds for this till.
    RosterLoaded {
        roster: Vec<CashierCredential>,
        last_receipt_no: i64,
    },
    /// The roster kept beside the journal by an earlier run (at start, before any load).
    StoredRoster(Vec<CashierCredential>),
    /// Writing the roster beside the journal worked, or not.
    RosterSaved(Result<(), String>),
    /// The catalog kept beside the journal by an earlier run (at start, before any load).
    StoredCatalog(KeptCatalog),
    /// Writing the catalog beside the journal worked, or not.
    CatalogSaved(Result<(), String>),
    /// The journal's receipt numbers were raised to the database's, or not.
    ReceiptNumbersAligned(Result<(), String>),
    /// The answer to PIN check `attempt`: right or wrong, or the check failed.
    PinChecked {
        attempt: u64,
        result: Result<bool, String>,
    },
    /// The customer card `id` looked up: the customer, or None when the database has none.
    CardLookedUp {
        id: Uuid,
        result: Result<Option<CustomerSummary>, DbFailure>,
    },
    /// Print job `job` is done, or failed (why).
    Printed {
        job: u64,
        result: Result<(), String>,
    },
    /// Receipt look-up `seq`: the sale, or None when there is none.
    ReceiptFound {
        seq: u64,
        result: Result<Option<SoldPurchase>, DbFailure>,
    },
    /// The void with this key, written or not.
    Voided {
        key: Uuid,
        result: Result<VoidRecord, RefundError>,
    },
    /// The refund with this key, written or not.
    Refunded {
        key: Uuid,
        result: Result<RefundRecord, RefundError>,
    },
    /// The running shift's figures (X).
    ShiftLoaded(Result<ShiftReport, DbFailure>),
    /// The shift closed, with its final figures (Z).
    ShiftClosed(Result<ShiftReport, DbFailure>),
}

/// The last catalog a till loaded, as kept beside its journal, and when it was kept.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeptCatalog {
    pub kept_at: DateTime<Utc>,
    pub catalog: Catalog,
}

/// Work for effects.rs; results come back as `Msg`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    LoadCatalog,
    /// Send `CustomerSearchDue { seq }` after the debounce delay.
    DebounceCustomerSearch {
        seq: u64,
    },
    SearchCustomers {
        seq: u64,
        prefix: String,
    },
    /// Record the sale through the journal (the one place a sale is written).
    Submit(Box<Sale>),
    /// Send the journal's queued sales.
    Drain,
    /// Put a refused sale back in the queue.
    ResendRefused(Uuid),
    /// Set a refused sale aside with the cashier's reason.
    SetAsideRefused {
        sale_key: Uuid,
        reason: String,
    },
    /// Keep the roster beside the journal (for signing in while the database is away).
    SaveRoster(Vec<CashierCredential>),
    /// Keep the catalog beside the journal, stamped with the time it is written (for selling
    /// after a start while the database is away).
    SaveCatalog(Box<Catalog>),
    /// Raise the journal's next receipt number above the database's highest for this till.
    AlignReceiptNumbers {
        last_in_database: i64,
    },
    /// Check a cashier's PIN (slow on purpose: off the async threads); answers `PinChecked`.
    CheckPin {
        attempt: u64,
        credential: Box<CashierCredential>,
        pin: Pin,
    },
    /// Look up a scanned customer card; answers `CardLookedUp`.
    LookUpCard(Uuid),
    /// Print `text` on the receipt printer (bounded in time); answers `Printed`.
    Print {
        job: u64,
        text: String,
    },
    /// Find a sale by its receipt number (at `till`); answers `ReceiptFound`.
    FindReceipt {
        seq: u64,
        till: String,
        receipt_no: i64,
    },
    /// Void a sale; answers `Voided`.
    Void(Box<VoidRequest>),
    /// Refund lines of a sale; answers `Refunded`.
    Refund(Box<RefundRequest>),
    /// The running shift's figures; answers `ShiftLoaded`.
    LoadShift,
    /// Close the shift; answers `ShiftClosed`.
    CloseShift {
        cashier: Option<i32>,
    },
}

impl State {
    pub fn new(
        clock: Clock,
        db_name: String,
        wanted_branch: Option<String>,
        ids: Ids,
        time_zone: Tz,
        till: String,
    ) -> State {
        State {
            now: clock.wall,
            since_start: clock.since_start,
            time_zone,
            ids,
            db: DbState::Connecting,
            db_name,
            catalog: None,
            catalog_kept_at: None,
            catalog_load: CatalogLoad::Due(clock.since_start),
            catalog_failures: 0,
            branch: None,
            screen: Screen::Branch(BranchChoice {
                cursor: 0,
                wanted: wanted_branch,
            }),
            overlay: None,
            notice: None,
            sales_done: 0,
            no_color: false,
            quit: false,
            pending_sales: 0,
            refused_sales: Vec::new(),
            drain: DrainRound::Due(clock.since_start),
            vouched: BTreeSet::new(),
            journal_warning: None,
            drain_failures: 0,
            terminal_size: (80, 24),
            till,
            roster: Vec::new(),
            cashier: None,
            pin_attempts: 0,
            receipt_numbers_aligned: false,
            print_setup: PrintSetup {
                printer: false,
                width: store_core::settings::DEFAULT_RECEIPT_WIDTH,
            },
            last_printout: None,
            print_jobs: 0,
            last_tender: None,
            last_sale: None,
            lookups: 0,
            redraw: true,
        }
    }

    /// `at` on the till's clock: its branch's own time zone if it has one, else the chain's
    /// (the `timezone` setting).
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        at.with_timezone(&self.zone())
    }

    /// The change due for the receipt on screen, when it was paid in cash.
    pub fn change_due(&self) -> Option<Decimal> {
        let Screen::Receipt(receipt) = &self.screen else {
            return None;
        };
        if receipt.payment_method.is_some() {
            return receipt.change_due;
        }
        // A database that did not say (a replay of a sale from before payments): the till's.
        match self.last_tender? {
            Tender::Cash(Some(tendered)) => Some(tendered - receipt.total_amount),
            Tender::Cash(None) => Some(Decimal::ZERO),
            Tender::Card => None,
        }
    }

    /// The till's time zone: its branch's own if it has one, else the chain's.
    pub fn zone(&self) -> Tz {
        self.branch
            .as_deref()
            .and_then(|id| self.catalog.as_ref()?.find_branch(id)?.timezone)
            .unwrap_or(self.time_zone)
    }

    /// The database is not known to answer: searches cannot run, sales are queued.
    pub fn is_offline(&self) -> bool {
        self.db != DbState::Connected
    }

    pub fn message(&self) -> Option<&Message> {
        self.notice.as_ref().map(|n| &n.message)
    }

    pub fn draft(&self) -> Option<&Draft> {
        match &self.screen {
            Screen::Sale(draft) => Some(draft),
            _ => None,
        }
    }

    pub fn draft_mut(&mut self) -> Option<&mut Draft> {
        match &mut self.screen {
            Screen::Sale(draft) => Some(draft),
            _ => None,
        }
    }

    /// The sale's keyboard (None: no sale on screen).
    pub fn input(&self) -> Option<&Input> {
        self.draft().map(|d| &d.input)
    }

    pub fn is_submitting(&self) -> bool {
        self.input() == Some(&Input::Submitting)
    }

    pub fn catalog_loading(&self) -> bool {
        matches!(self.catalog_load, CatalogLoad::Running { .. })
    }

    /// The refused sale selected in the list, when the list is on screen.
    pub fn refused_selected(&self) -> Option<usize> {
        match &self.overlay {
            Some(Overlay::Refused { selected, .. }) => Some(*selected),
            _ => None,
        }
    }

    /// The reason being typed to set a refused sale aside.
    pub fn set_aside(&self) -> Option<&SetAsideDraft> {
        match &self.overlay {
            Some(Overlay::Refused { set_aside, .. }) => set_aside.as_ref(),
            _ => None,
        }
    }

    /// When the next round of sending queued sales is due (None: one is running).
    pub fn next_drain(&self) -> Option<Duration> {
        match self.drain {
            DrainRound::Due(at) => Some(at),
            DrainRound::Running => None,
        }
    }

    /// Vouched customers whose id starts with `query` (all of them for an empty query; none
    /// for a query that is not the start of an id), at most `SEARCH_LIMIT`.
    pub fn vouched_matches(&self, query: &str) -> Vec<Uuid> {
        let range = if query.trim().is_empty() {
            Some((Uuid::nil(), Uuid::max()))
        } else {
            store_core::domain::catalog::uuid_prefix_range(query).ok()
        };
        let Some((low, high)) = range else {
            return vec![];
        };
        self.vouched
            .range(low..=high)
            .take(SEARCH_LIMIT as usize)
            .copied()
            .collect()
    }

    /// Where the keyboard is.
    pub fn mode(&self) -> Mode {
        match &self.overlay {
            Some(Overlay::Help { .. }) => return Mode::Help,
            Some(Overlay::Refused {
                set_aside: Some(_), ..
            }) => return Mode::SetAsideReason,
            Some(Overlay::Refused { .. }) => return Mode::Refused,
            Some(Overlay::Report(_)) => return Mode::Report,
            None => {}
        }
        match &self.screen {
            Screen::Branch(_) => Mode::Branch,
            Screen::SignIn(SignIn::Number(_)) => Mode::SignIn,
            Screen::SignIn(SignIn::Pin { .. }) => Mode::Pin,
            Screen::SignIn(SignIn::Checking { .. }) => Mode::CheckingPin,
            Screen::Receipt(_) | Screen::Queued(_) | Screen::UndoDone(_) => Mode::Receipt,
            Screen::Undo(undo) => match undo.step {
                UndoStep::ReceiptNumber(_) => Mode::RefundReceipt,
                UndoStep::Lines => Mode::RefundLines,
                UndoStep::Reason => Mode::UndoReason,
                UndoStep::ManagerNumber(_) => Mode::ManagerNumber,
                UndoStep::ManagerPin { .. } => Mode::ManagerPin,
                UndoStep::Looking { .. } | UndoStep::Sending { .. } => Mode::UndoWorking,
            },
            Screen::Sale(draft) => match &draft.input {
                Input::Code(code) if code.is_empty() => Mode::Sale,
                Input::Code(_) => Mode::Code,
                Input::Payment { .. } => Mode::Payment,
                Input::ProductSearch { .. } => Mode::ProductSearch,
                Input::CustomerSearch { .. } => Mode::CustomerSearch,
                Input::Confirm(_) => Mode::Confirm,
                Input::Submitting => Mode::Submitting,
            },
        }
    }

    pub fn branch_name(&self) -> Option<&str> {
        self.branch
            .as_deref()
            .and_then(|id| self.name_of_branch(id))
    }

    /// The name of branch `id` in the catalog (None: unknown or blank).
    pub fn name_of_branch(&self, id: &str) -> Option<&str> {
        self.catalog
            .as_ref()?
            .branches
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.name.as_str())
            .filter(|name| !name.trim().is_empty())
    }

    pub fn product(&self, id: i32) -> Option<&Product> {
        self.catalog.as_ref()?.product(id)
    }

    /// The cart's total at the catalog's current prices (products no longer sold count 0).
    pub fn total(&self) -> Decimal {
        self.draft()
            .map(|d| {
                d.lines()
                    .iter()
                    .filter_map(|id| self.product(*id))
                    .map(|p| p.unit_price)
                    .sum()
            })
            .unwrap_or_default()
    }

    /// Cart line `id` against the catalog now.
    pub fn line_status(&self, draft: &Draft, id: i32) -> LineStatus {
        match (self.product(id), draft.shown.get(&id)) {
            (None, _) => LineStatus::Retired,
            (Some(now), Some(shown)) if now.unit_price != shown.unit_price => {
                LineStatus::PriceChanged {
                    was: shown.unit_price,
                    now: now.unit_price,
                }
            }
            (Some(_), _) => LineStatus::OnSale,
        }
    }

    /// The name of cart line `id`: the catalog's, else the one shown when it was added.
    pub fn line_name(&self, draft: &Draft, id: i32) -> Option<String> {
        self.product(id)
            .or_else(|| draft.shown.get(&id))
            .map(|p| p.name.clone())
    }

    /// The cart's lines whose price changed since the cashier was shown it.
    pub fn price_changes(&self) -> Vec<(i32, Decimal, Decimal)> {
        let Some(draft) = self.draft() else {
            return vec![];
        };
        draft
            .lines()
            .iter()
            .filter_map(|id| match self.line_status(draft, *id) {
                LineStatus::PriceChanged { was, now } => Some((*id, was, now)),
                _ => None,
            })
            .collect()
    }

    /// The roster's entry for cashier `number`.
    pub fn credential(&self, number: i32) -> Option<&CashierCredential> {
        self.roster.iter().find(|c| c.cashier.number == number)
    }

    /// The chain records cashiers and nobody is signed in.
    pub fn needs_sign_in(&self) -> bool {
        !self.roster.is_empty() && self.cashier.is_none()
    }

    /// Products whose name contains the query (case-insensitive), in catalog order.
    pub fn product_matches(&self, query: &str) -> Vec<&Product> {
        let query = query.trim().to_lowercase();
        self.catalog
            .iter()
            .flat_map(|c| &c.products)
            .filter(|p| query.is_empty() || p.name.to_lowercase().contains(&query))
            .collect()
    }

    fn say(&mut self, message: Message, holds: Holds) {
        self.notice = Some(Notice { message, holds });
    }

    fn info(&mut self, text: impl Into<String>) {
        self.say(Message::Info(text.into()), Holds::UntilReplaced);
    }

    fn error(&mut self, text: impl Into<String>) {
        self.say(Message::Error(text.into()), Holds::UntilReplaced);
    }

    fn clear_message(&mut self) {
        self.notice = None;
    }

    /// Whether what `holds` says is still true.
    fn still_true(&self, holds: Holds) -> bool {
        match holds {
            Holds::UntilReplaced => true,
            Holds::WhileConnected => self.db == DbState::Connected,
            Holds::WhileSalesWait => self.pending_sales > 0,
            Holds::WhileRefusedKept => !self.refused_sales.is_empty(),
            Holds::WhileNoCatalog => self.catalog.is_none(),
            Holds::WhileCatalogFails => self.catalog_failures > 0,
        }
    }

    /// True once after anything drawn changed (every field of the state is drawn or decides
    /// what is): the caller redraws. The same rule as owner-tui's.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    /// Drops the message once its condition no longer holds.
    fn expire_notice(&mut self) {
        if self
            .notice
            .as_ref()
            .is_some_and(|n| !self.still_true(n.holds))
        {
            self.notice = None;
        }
    }

    fn cart_is_open(&self) -> bool {
        self.draft().is_some_and(Draft::is_open)
    }

    /// A new sale, or the sign-in first when the chain records cashiers and nobody (or a
    /// cashier no longer on the roster) is signed in.
    fn open_sale(&mut self) {
        if let Some(cashier) = &self.cashier
            && self.credential(cashier.number).is_none()
        {
            tracing::info!(
                cashier = cashier.number,
                "signed out: no longer on the roster"
            );
            self.cashier = None;
        }
        self.screen = if self.needs_sign_in() {
            Screen::SignIn(SignIn::Number(String::new()))
        } else {
            Screen::Sale(Draft::open(self.ids.sale_key()))
        };
    }
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let before = state.clone();
    let effects = handle(state, msg);
    state.expire_notice();
    if *state != before {
        state.redraw = true;
    }
    effects
}

fn handle(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => {
            if key.kind == KeyEventKind::Release {
                return vec![];
            }
            match keymap::resolve(state.mode(), &key) {
                Some(action) => act(state, action),
                None => vec![],
            }
        }
        Msg::Tick(clock) => {
            state.now = clock.wall;
            state.since_start = clock.since_start;
            let mut effects = vec![];
            if matches!(state.catalog_load, CatalogLoad::Due(at) if state.since_start >= at) {
                effects.extend(load_catalog(state));
            }
            if matches!(state.drain, DrainRound::Due(at) if state.since_start >= at) {
                effects.extend(drain(state));
            }
            effects
        }
        Msg::Resize { width, height } => {
            state.terminal_size = (width, height);
            clamp_help_scroll(state);
            vec![]
        }
        Msg::Health(result) => health(state, result),
        Msg::CatalogChanged => catalog_changed(state),
        Msg::Listening => {
            // Reachable again (or for the first time): send what waits, and reload the catalog,
            // whose announcements were missed meanwhile.
            let mut effects = catalog_changed(state);
            effects.extend(drain(state));
            effects
        }
        Msg::Journal(status) => {
            journal_status(state, status);
            vec![]
        }
        Msg::Drained { result, status } => {
            drained(state, result, status);
            vec![]
        }
        Msg::Paste(text) => paste(state, &text),
        Msg::RefusedSaleHandled {
            sale_key,
            action,
            result,
            status,
        } => refused_sale_handled(state, sale_key, action, result, status),
        Msg::CatalogLoaded(result) => catalog_loaded(state, result),
        Msg::CustomerSearchDue { seq } => customer_search_due(state, seq),
        Msg::CustomerResults { seq, result } => {
            customer_results(state, seq, result);
            vec![]
        }
        Msg::Submitted { sale_key, result } => submitted(state, sale_key, result),
        Msg::RosterLoaded {
            roster,
            last_receipt_no,
        } => {
            let mut effects = roster_arrived(state, roster, true);
            if !state.receipt_numbers_aligned {
                state.receipt_numbers_aligned = true;
                effects.push(Effect::AlignReceiptNumbers {
                    last_in_database: last_receipt_no,
                });
            }
            effects
        }
        Msg::StoredRoster(roster) => roster_arrived(state, roster, false),
        Msg::StoredCatalog(kept) => {
            stored_catalog(state, kept);
            vec![]
        }
        Msg::CatalogSaved(result) => {
            if let Err(e) = result {
                tracing::warn!("the catalog could not be kept beside the journal: {e}");
                state.error(format!(
                    "the catalog could not be kept beside the journal ({e}): after a restart, \
                     the till sells only once the database answers"
                ));
            }
            vec![]
        }
        Msg::RosterSaved(result) => {
            if let Err(e) = result {
                tracing::warn!("the roster could not be kept beside the journal: {e}");
                state.error(format!(
                    "the cashier list could not be kept beside the journal ({e}): after a \
                     restart, cashiers sign in only once the database answers"
                ));
            }
            vec![]
        }
        Msg::ReceiptNumbersAligned(result) => {
            if let Err(e) = result {
                tracing::error!("receipt numbers not aligned with the database: {e}");
                state.receipt_numbers_aligned = false;
                state.error(format!(
                    "the journal could not take the database's receipt numbers ({e}): tried \
                     again at the next catalog load"
                ));
            }
            vec![]
        }
        Msg::PinChecked { attempt, result } => {
            pin_checked(state, attempt, result);
            vec![]
        }
        Msg::CardLookedUp { id, result } => {
            card_looked_up(state, id, result);
            vec![]
        }
        Msg::Printed { job, result } => {
            printed(state, job, result);
            vec![]
        }
        Msg::ReceiptFound { seq, result } => {
            receipt_found(state, seq, result);
            vec![]
        }
        Msg::Voided { key, result } => undone(state, key, result.map(Undone::Void)),
        Msg::Refunded { key, result } => undone(state, key, result.map(Undone::Refund)),
        Msg::ShiftLoaded(result) => {
            shift_report(state, result, false);
            vec![]
        }
        Msg::ShiftClosed(result) => shift_report(state, result, true),
    }
}

/// Print job `job`'s answer: a failure is said (the sale is recorded whatever the printer does).
fn printed(state: &mut State, job: u64, result: Result<(), String>) {
    match result {
        Ok(()) => tracing::info!(job, "receipt printed"),
        Err(e) => {
            tracing::warn!(job, "the receipt printer failed: {e}");
            let what = state
                .last_printout
                .as_ref()
                .map_or_else(|| "the receipt".to_string(), |p| p.what.clone());
            state.error(format!(
                "the receipt printer failed ({e}): {what} was not printed; p prints it again"
            ));
        }
    }
}

/// Keeps `printout` for `p` and prints it when a printer is set.
fn print(state: &mut State, printout: Printout) -> Vec<Effect> {
    let text = printout.text.clone();
    state.last_printout = Some(printout);
    if !state.print_setup.printer {
        return vec![];
    }
    state.print_jobs += 1;
    vec![Effect::Print {
        job: state.print_jobs,
        text,
    }]
}

/// `p`: the last receipt or slip again.
fn print_last(state: &mut State) -> Vec<Effect> {
    let Some(printout) = state.last_printout.clone() else {
        state.info("there is no receipt to print yet");
        return vec![];
    };
    if !state.print_setup.printer {
        state.error(
            "no receipt printer is set: start the till with --receipt-command or --receipt-file \
             (or receipt_command / receipt_file in the config file)",
        );
        return vec![];
    }
    state.info(format!("printing {} again…", printout.what));
    print(state, printout)
}

/// The name cashier `number` has on the roster.
fn cashier_name(state: &State, number: i32) -> Option<String> {
    state.credential(number).map(|c| c.cashier.name.clone())
}

/// A recorded sale's receipt as printed.
fn sale_printout(state: &State, receipt: &Receipt) -> Printout {
    let branch_name = state
        .name_of_branch(&receipt.supermarket_id)
        .unwrap_or_default()
        .to_string();
    let cashier = receipt.cashier.and_then(|n| cashier_name(state, n));
    let text = store_core::domain::receipt_text::sale_receipt(
        receipt,
        &branch_name,
        cashier.as_deref(),
        state.zone(),
        state.print_setup.width,
    );
    let what = match receipt.receipt_number() {
        Some(number) => format!("receipt {number}"),
        None => format!("the receipt of purchase #{}", receipt.purchase_id),
    };
    Printout { what, text }
}

/// A scanned card's answer from the database: a returning customer, or a question.
fn card_looked_up(state: &mut State, id: Uuid, result: Result<Option<CustomerSummary>, DbFailure>) {
    let Some(draft) = state.draft_mut().filter(|d| d.card_check == Some(id)) else {
        return;
    };
    draft.card_check = None;
    match result {
        Ok(Some(customer)) => {
            draft.customer = Some(CustomerChoice::Returning(id));
            state.vouched.insert(id);
            state.db = DbState::Connected;
            state.info(format!(
                "returning customer {id} ({} earlier purchases), from the card",
                customer.purchases
            ));
        }
        Ok(None) => {
            if matches!(draft.input, Input::Code(_)) {
                draft.input = Input::Confirm(Question::NewCard(id));
            }
            state.db = DbState::Connected;
            state.error(format!(
                "customer card {id} is not known: y takes it as a new customer's card, n refuses it"
            ));
        }
        Err(failure) => {
            if failure.connection {
                state.db = DbState::Reconnecting(failure.message.clone());
            }
            state.error(format!(
                "customer card {id} could not be checked ({}): scan it again, or find the \
                 customer (c)",
                failure.message
            ));
        }
    }
}

/// A customer card typed or scanned into the code field: the sale's customer when the database
/// (or this till, offline) knows them, else a question.
fn card_scanned(state: &mut State, id: Uuid) -> Vec<Effect> {
    let offline = state.is_offline();
    let vouched = state.vouched.contains(&id);
    let Some(draft) = state.draft_mut() else {
        return vec![];
    };
    if draft.customer.map(|c| c.user_id()) == Some(id) {
        state.info(format!("customer {id} is already this sale's customer"));
        return vec![];
    }
    if vouched {
        draft.customer = Some(CustomerChoice::Returning(id));
        state.info(format!("returning customer {id}, from the card"));
        return vec![];
    }
    if offline {
        state.error(format!(
            "offline: customer card {id} cannot be checked now; n takes a new customer, or sell \
             once the database is back"
        ));
        return vec![];
    }
    draft.card_check = Some(id);
    state.info(format!("checking customer card {id}…"));
    vec![Effect::LookUpCard(id)]
}

/// The roster from the database (`from_database`: kept beside the journal when it changed) or
/// from that file. A signed-in cashier's name follows it; an empty sale waiting for nobody
/// goes to the sign-in, and a sign-in the chain no longer needs goes to the sale.
fn roster_arrived(
    state: &mut State,
    roster: Vec<CashierCredential>,
    from_database: bool,
) -> Vec<Effect> {
    let changed = state.roster != roster;
    state.roster = roster;
    if let Some(cashier) = &state.cashier
        && let Some(now) = state.credential(cashier.number)
    {
        state.cashier = Some(now.cashier.clone());
    }
    let idle_sale = state
        .draft()
        .is_some_and(|d| !d.is_open() && d.input != Input::Submitting);
    if idle_sale && state.needs_sign_in() {
        state.open_sale();
        state.info("this chain now records cashiers: type your cashier number, then Enter");
    } else if state.screen.is_sign_in() && !state.needs_sign_in() {
        state.open_sale();
        state.info("this chain records no cashier: ready for the next sale");
    }
    if from_database && changed {
        vec![Effect::SaveRoster(state.roster.clone())]
    } else {
        vec![]
    }
}

/// How a cashier is named on screen: number and name.
pub fn cashier_label(cashier: &Cashier) -> String {
    format!(
        "{} {}",
        cashier.number,
        store_core::domain::input::printable(&cashier.name)
    )
}

fn signed_in(state: &mut State, cashier: Cashier) {
    tracing::info!(cashier = cashier.number, "cashier signed in");
    let label = cashier_label(&cashier);
    state.cashier = Some(cashier);
    state.open_sale();
    state.info(format!("cashier {label} signed in: ready for the sale"));
}

fn pin_checked(state: &mut State, attempt: u64, result: Result<bool, String>) {
    let Screen::SignIn(SignIn::Checking {
        cashier,
        attempt: current,
    }) = &state.screen
    else {
        return;
    };
    if *current != attempt {
        return;
    }
    let cashier = cashier.clone();
    match result {
        Ok(true) => signed_in(state, cashier),
        Ok(false) => {
            tracing::warn!(cashier = cashier.number, "wrong PIN");
            let label = cashier_label(&cashier);
            state.screen = Screen::SignIn(SignIn::Pin {
                cashier,
                pin: Pin::default(),
            });
            state.error(format!(
                "wrong PIN for cashier {label}: type it again (Esc: another number)"
            ));
        }
        Err(e) => {
            tracing::error!(
                cashier = cashier.number,
                "the PIN could not be checked: {e}"
            );
            state.screen = Screen::SignIn(SignIn::Pin {
                cashier,
                pin: Pin::default(),
            });
            state.error(format!("the PIN could not be checked ({e}): type it again"));
        }
    }
}

/// Enter after a cashier number: signed in, or asked for the PIN, or told the number is
/// unknown.
fn sign_in_number(state: &mut State, typed: &str) -> Vec<Effect> {
    if typed.is_empty() {
        state.error("type your cashier number, then Enter");
        return vec![];
    }
    let found = typed
        .parse::<i32>()
        .ok()
        .and_then(|n| state.credential(n))
        .cloned();
    match found {
        None => {
            state.error(format!(
                "there is no cashier number {typed}: type your number again"
            ));
        }
        Some(credential) if credential.needs_pin() => {
            state.info(format!(
                "cashier {}: type your PIN, then Enter",
                cashier_label(&credential.cashier)
            ));
            state.screen = Screen::SignIn(SignIn::Pin {
                cashier: credential.cashier,
                pin: Pin::default(),
            });
        }
        Some(credential) => signed_in(state, credential.cashier),
    }
    vec![]
}

fn on_sign_in(state: &mut State, action: Action) -> Vec<Effect> {
    let Screen::SignIn(sign_in) = &mut state.screen else {
        return vec![];
    };
    match (sign_in, action) {
        (SignIn::Number(number), Action::CodeDigit(c)) => {
            if number.len() < MAX_CASHIER_DIGITS {
                number.push(c);
            } else {
                state.error(format!(
                    "a cashier number has at most {MAX_CASHIER_DIGITS} digits: Esc erases it"
                ));
            }
        }
        (SignIn::Number(number), Action::CodeBackspace) => {
            number.pop();
        }
        (SignIn::Number(number), Action::ClearCode) => {
            number.clear();
            state.clear_message();
        }
        (SignIn::Number(number), Action::SignIn) => {
            let typed = std::mem::take(number);
            return sign_in_number(state, &typed);
        }
        (SignIn::Number(_), Action::ChangeBranch) => to_branch_choice(state),
        (SignIn::Pin { pin, .. }, Action::TypeChar(c)) if pin.len() < MAX_PIN_LEN => {
            pin.0.push(c);
            state.clear_message();
        }
        (SignIn::Pin { .. }, Action::TypeChar(_)) => {
            state.error(format!("a PIN has at most {MAX_PIN_LEN} characters"));
        }
        (SignIn::Pin { pin, .. }, Action::DeleteChar) => {
            pin.0.pop();
        }
        (SignIn::Pin { .. }, Action::CancelPin) => {
            state.screen = Screen::SignIn(SignIn::Number(String::new()));
            state.info("type your cashier number, then Enter");
        }
        (SignIn::Pin { cashier, pin }, Action::CheckPin) => {
            if pin.is_empty() {
                state.error("type your PIN, then Enter (Esc: another number)");
                return vec![];
            }
            let pin = std::mem::take(pin);
            let cashier = cashier.clone();
            let Some(credential) = state.credential(cashier.number).cloned() else {
                state.screen = Screen::SignIn(SignIn::Number(String::new()));
                state.error(format!(
                    "cashier {} is no longer on the roster: type your number again",
                    cashier.number
                ));
                return vec![];
            };
            state.pin_attempts += 1;
            let attempt = state.pin_attempts;
            state.screen = Screen::SignIn(SignIn::Checking { cashier, attempt });
            state.info("checking the PIN…");
            return vec![Effect::CheckPin {
                attempt,
                credential: Box::new(credential),
                pin,
            }];
        }
        _ => {}
    }
    vec![]
}

/// `L`: the cashier leaves. With a sale open it asks first (yes drops the sale).
fn sign_out(state: &mut State) {
    if state.roster.is_empty() {
        state.info("this chain records no cashier: there is nobody to sign out");
    } else if state.cart_is_open()
        && let Some(draft) = state.draft_mut()
    {
        draft.input = Input::Confirm(Question::SignOutWithSale);
    } else {
        signed_out(state);
    }
}

fn signed_out(state: &mut State) {
    let text = match state.cashier.take() {
        Some(cashier) => {
            tracing::info!(cashier = cashier.number, "cashier signed out");
            format!(
                "cashier {} signed out: next cashier, type your number",
                cashier_label(&cashier)
            )
        }
        None => "type your cashier number, then Enter".to_string(),
    };
    state.screen = Screen::SignIn(SignIn::Number(String::new()));
    state.info(text);
}

fn customer_search_due(state: &mut State, seq: u64) -> Vec<Effect> {
    let Some(Input::CustomerSearch {
        query,
        seq: current,
        searching,
        results,
        offline: false,
        ..
    }) = state.draft_mut().map(|d| &mut d.input)
    else {
        return vec![];
    };
    // Enter may have started this search already (`take_single`).
    if *current != seq || *searching {
        return vec![];
    }
    match store_core::domain::catalog::uuid_prefix_range(query) {
        Ok(_) => {
            *searching = true;
            let prefix = query.clone();
            vec![Effect::SearchCustomers { seq, prefix }]
        }
        Err(e) => {
            results.clear();
            state.error(e.to_string());
            vec![]
        }
    }
}

fn customer_results(state: &mut State, seq: u64, result: Result<Vec<CustomerSummary>, DbFailure>) {
    let Some(Input::CustomerSearch {
        seq: current,
        results,
        selected,
        searching,
        query,
        offline,
        fresh,
        take_single,
    }) = state.draft_mut().map(|d| &mut d.input)
    else {
        return;
    };
    if *current != seq || *offline {
        return;
    }
    *searching = false;
    let take = std::mem::take(take_single);
    match result {
        Ok(found) => {
            let text = match (found.len(), take) {
                (0, _) => format!("no customer id starts with {query}"),
                (n, true) if n > 1 => {
                    format!("{n} customers start with {query}: choose one (↑↓, Enter)")
                }
                (n, _) => format!("{n} customer(s) start with {query}"),
            };
            let ids: Vec<Uuid> = found.iter().map(|c| c.user_id).collect();
            let single = found.len() == 1;
            *results = found;
            *selected = 0;
            *fresh = true;
            state.vouched.extend(ids);
            state.db = DbState::Connected;
            if take && single {
                pick_result(state);
                return;
            }
            if take && !single {
                state.error(text);
                return;
            }
            state.say(Message::Info(text), Holds::WhileConnected);
        }
        Err(failure) if failure.connection => {
            results.clear();
            *selected = 0;
            *offline = true;
            state.db = DbState::Reconnecting(failure.message.clone());
            state.error(OFFLINE_SEARCH);
        }
        Err(failure) => {
            results.clear();
            state.error(format!("customer search failed: {}", failure.message));
        }
    }
}

/// Said when the customer search cannot reach the database.
pub const OFFLINE_SEARCH: &str = "offline: customer search is unavailable; listed are the \
     customers this till has seen (or Esc, n for a new customer)";

/// The health probe's answer. Back from `Reconnecting`: the catalog is reloaded (its
/// announcements may have been missed) and the queued sales are sent.
fn health(state: &mut State, result: Result<(), DbFailure>) -> Vec<Effect> {
    match result {
        Ok(()) => {
            let back = matches!(state.db, DbState::Reconnecting(_));
            state.db = DbState::Connected;
            if !back {
                return vec![];
            }
            let mut effects = catalog_changed(state);
            effects.extend(drain(state));
            effects
        }
        Err(failure) if failure.connection => {
            state.db = DbState::Reconnecting(failure.message);
            vec![]
        }
        Err(failure) => {
            // The database answered, with an error: it is reachable.
            tracing::warn!("health probe: {}", failure.message);
            vec![]
        }
    }
}

fn catalog_changed(state: &mut State) -> Vec<Effect> {
    match &mut state.catalog_load {
        CatalogLoad::Running { again } => {
            *again = true;
            vec![]
        }
        CatalogLoad::Due(_) => load_catalog(state),
    }
}

/// Starts sending the queued sales, unless nothing waits or a round (or a submission, which
/// may be sending the newest of them) is under way.
fn drain(state: &mut State) -> Vec<Effect> {
    if state.pending_sales == 0 || state.drain == DrainRound::Running || state.is_submitting() {
        return vec![];
    }
    state.drain = DrainRound::Running;
    vec![Effect::Drain]
}

fn journal_status(state: &mut State, status: JournalStatus) {
    state.pending_sales = status.pending;
    state.refused_sales = status.refused;
    let refused = &state.refused_sales;
    if let Some(Overlay::Refused {
        selected,
        set_aside,
    }) = &mut state.overlay
    {
        *selected = (*selected).min(refused.len().saturating_sub(1));
        if set_aside
            .as_ref()
            .is_some_and(|d| !refused.iter().any(|r| r.sale.sale_key == d.sale_key))
        {
            *set_aside = None;
        }
        if refused.is_empty() {
            state.overlay = None;
        }
    }
    // Said once when it appears; the status bar keeps showing it.
    if let Some(warning) = status.warning
        && state.journal_warning.as_ref() != Some(&warning)
    {
        state.error(warning.clone());
        state.journal_warning = Some(warning);
    }
}

/// The wait before the next round of sending queued sales: longer after each failed round.
pub fn drain_delay(failures: u32) -> Duration {
    DRAIN_RETRY.delay(failures + 1)
}

const DRAIN_RETRY: RetryPolicy = RetryPolicy::new(DRAIN_EVERY, DRAIN_BACKOFF_MAX);
const CATALOG_RETRY: RetryPolicy =
    RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(16));

/// The wait before the next catalog load after `failures` failed loads in a row.
pub fn catalog_backoff(failures: u32) -> Duration {
    CATALOG_RETRY.delay(failures + 1)
}

fn drained(state: &mut State, result: Result<DrainReport, DbFailure>, status: JournalStatus) {
    let failed = match &result {
        Ok(report) => report.stopped.is_some(),
        Err(_) => true,
    };
    state.drain_failures = if failed { state.drain_failures + 1 } else { 0 };
    state.drain = DrainRound::Due(state.since_start + drain_delay(state.drain_failures));
    journal_status(state, status);
    match result {
        Ok(report) => {
            if report.sent > 0 {
                tracing::info!(sent = report.sent, "queued sales sent");
                state.db = DbState::Connected;
            }
            let retry_in = drain_delay(state.drain_failures).as_secs();
            match &report.stopped {
                Some(e) if e.is_connection_problem() => {
                    state.db = DbState::Reconnecting(e.to_string());
                }
                Some(e) if report.refused == 0 => {
                    tracing::warn!("queued sales not sent yet: {e}");
                    state.say(
                        Message::Error(format!(
                            "queued sales not sent yet ({e}): they are kept and sent again in {retry_in} s"
                        )),
                        Holds::WhileSalesWait,
                    );
                    return;
                }
                _ => {}
            }
            if report.refused > 0 {
                tracing::warn!(refused = report.refused, "queued sales refused on replay");
                state.say(
                    Message::Error(format!(
                        "the database refused {} queued sale(s): R lists them",
                        report.refused
                    )),
                    Holds::WhileRefusedKept,
                );
            } else if report.sent > 0 {
                state.say(
                    Message::Info(format!(
                        "{} queued sale(s) sent to the database",
                        report.sent
                    )),
                    Holds::WhileConnected,
                );
            }
        }
        Err(failure) if failure.connection => {
            state.db = DbState::Reconnecting(failure.message);
        }
        Err(failure) => {
            state.say(
                Message::Error(format!("sending queued sales failed: {}", failure.message)),
                Holds::WhileSalesWait,
            );
        }
    }
}

fn load_catalog(state: &mut State) -> Vec<Effect> {
    state.catalog_load = CatalogLoad::Running { again: false };
    vec![Effect::LoadCatalog]
}

fn catalog_loaded(state: &mut State, result: Result<Catalog, DbFailure>) -> Vec<Effect> {
    let again = matches!(state.catalog_load, CatalogLoad::Running { again: true });
    let mut effects = vec![];
    match result {
        Ok(catalog) => {
            let reconnected = state.db != DbState::Connected;
            effects.push(Effect::SaveCatalog(Box::new(catalog.clone())));
            state.catalog = Some(catalog);
            state.catalog_kept_at = None;
            state.db = DbState::Connected;
            if reconnected {
                effects.extend(drain(state));
            }
            state.catalog_failures = 0;
            state.catalog_load = CatalogLoad::Due(state.since_start + CATALOG_REFRESH);
            let wanted = match &mut state.screen {
                Screen::Branch(choice) if state.branch.is_none() => choice.wanted.take(),
                _ => None,
            };
            if let Some(wanted) = wanted {
                let known = state
                    .catalog
                    .as_ref()
                    .is_some_and(|c| c.has_branch(&wanted));
                if known {
                    start_shift(state, wanted);
                } else {
                    state.error(format!("there is no branch {wanted}: choose one below"));
                }
            }
        }
        Err(failure) => {
            state.catalog_failures += 1;
            state.catalog_load =
                CatalogLoad::Due(state.since_start + catalog_backoff(state.catalog_failures));
            if failure.connection {
                state.db = DbState::Reconnecting(failure.message);
            } else {
                state.say(
                    Message::Error(format!("loading the catalog failed: {}", failure.message)),
                    Holds::WhileCatalogFails,
                );
            }
        }
    }
    if again {
        effects.extend(load_catalog(state));
    }
    effects
}

/// The catalog an earlier run kept, used until the database answers: the branch can be chosen
/// and products sold (the sales are queued). A branch asked for at start that the kept catalog
/// lacks waits for the live one.
fn stored_catalog(state: &mut State, kept: KeptCatalog) {
    if state.catalog.is_some() {
        return;
    }
    tracing::info!(kept_at = %kept.kept_at, "using the catalog kept beside the journal");
    state.catalog = Some(kept.catalog);
    state.catalog_kept_at = Some(kept.kept_at);
    let wanted = match &state.screen {
        Screen::Branch(choice) if state.branch.is_none() => choice.wanted.clone(),
        _ => None,
    };
    if let Some(wanted) = wanted
        && state
            .catalog
            .as_ref()
            .is_some_and(|c| c.has_branch(&wanted))
    {
        if let Screen::Branch(choice) = &mut state.screen {
            choice.wanted = None;
        }
        start_shift(state, wanted);
    }
}

fn start_shift(state: &mut State, branch: String) {
    state.branch = Some(branch);
    let branch = match (state.branch.as_deref(), state.branch_name()) {
        (Some(id), Some(name)) => format!("branch {id} {name}"),
        (id, _) => format!("branch {}", id.unwrap_or_default()),
    };
    state.open_sale();
    if state.screen.is_sign_in() {
        state.info(format!("{branch}: type your cashier number, then Enter"));
    } else {
        state.info(format!("{branch}: ready for the first sale"));
    }
}

fn submitted(
    state: &mut State,
    sale_key: Uuid,
    result: Result<Outcome, CheckoutError>,
) -> Vec<Effect> {
    let Some(draft) = state
        .draft_mut()
        .filter(|d| d.input == Input::Submitting && d.sale_key == sale_key)
    else {
        tracing::warn!(%sale_key, "a submission result for a sale that is not being submitted");
        return vec![];
    };
    draft.input = Input::Code(String::new());
    match result {
        Ok(Outcome::Queued(sale)) => {
            tracing::warn!(%sale_key, products = ?sale.product_ids, "database unreachable: sale queued in the journal");
            if !matches!(state.db, DbState::Reconnecting(_)) {
                state.db = DbState::Reconnecting("the database did not answer".into());
            }
            let lines: Vec<ReceiptLine> = sale
                .product_ids
                .iter()
                .map(|id| match state.product(*id) {
                    Some(p) => ReceiptLine {
                        product_id: p.id,
                        name: p.name.clone(),
                        unit_price: p.unit_price,
                    },
                    None => ReceiptLine {
                        product_id: *id,
                        name: format!("product {id}"),
                        unit_price: Decimal::ZERO,
                    },
                })
                .collect();
            let total = sale
                .expected_total
                .unwrap_or_else(|| lines.iter().map(|l| l.unit_price).sum());
            state.sales_done += 1;
            // The journal's own count follows (Msg::Journal); until then, count this one.
            state.pending_sales += 1;
            if state.drain != DrainRound::Running {
                state.drain = DrainRound::Due(state.since_start + DRAIN_EVERY);
            }
            state.say(
                Message::Info(
                    "sale saved offline: it will be sent when the database is back".into(),
                ),
                Holds::WhileSalesWait,
            );
            // Not in the database yet: it cannot be voided from here (refunded, once sent).
            state.last_sale = None;
            let queued = QueuedSale { sale, lines, total };
            let printout = queued_printout(state, &queued);
            state.screen = Screen::Queued(Box::new(queued));
            print(state, printout)
        }
        Ok(Outcome::Recorded(receipt)) => {
            tracing::info!(purchase_id = receipt.purchase_id, %sale_key, total = %receipt.total_amount, replayed = receipt.replayed, "sale recorded");
            state.db = DbState::Connected;
            state.vouched.insert(receipt.user_id);
            // The database answers: anything queued can go now.
            state.drain = match state.drain {
                DrainRound::Running => DrainRound::Running,
                DrainRound::Due(_) => DrainRound::Due(state.since_start),
            };
            state.sales_done += 1;
            state.info(if receipt.replayed {
                "this sale had already been recorded: the receipt is that purchase's"
            } else {
                "sale recorded"
            });
            let printout = sale_printout(state, &receipt);
            state.last_sale = Some(Box::new(receipt.clone()));
            state.screen = Screen::Receipt(Box::new(receipt));
            print(state, printout)
        }
        Err(e) => {
            tracing::warn!(%sale_key, "sale not recorded: {e}");
            if e.is_connection_problem() {
                state.db = DbState::Reconnecting(e.to_string());
            }
            state.error(explain(&e));
            // The reloaded catalog shows the new prices, or marks the retired line.
            if matches!(
                e,
                CheckoutError::TotalMismatch { .. } | CheckoutError::RetiredProduct(_)
            ) && !state.catalog_loading()
            {
                return load_catalog(state);
            }
            vec![]
        }
    }
}
/// A sale saved offline, printed like a recorded one (its receipt number is the journal's).
fn queued_printout(state: &State, queued: &QueuedSale) -> Printout {
    let sale = &queued.sale;
    let receipt = Receipt {
        purchase_id: 0,
        sale_key: sale.sale_key,
        supermarket_id: sale.supermarket_id.clone(),
        user_id: sale.customer.user_id(),
        new_customer: sale.customer.is_new(),
        created_at: sale
            .sold_at
            .unwrap_or_else(|| self::local_to_utc(state.now, state.zone())),
        lines: queued.lines.clone(),
        total_amount: queued.total,
        replayed: false,
        till: sale.till.clone(),
        cashier: sale.cashier,
        receipt_no: sale.receipt_no,
        payment_method: sale.payment.as_ref().map(|p| p.method),
        tendered: sale
            .payment
            .as_ref()
            .filter(|p| p.method == store_core::domain::checkout::PaymentMethod::Cash)
            .map(|p| p.tendered.unwrap_or(queued.total)),
        change_due: sale
            .payment
            .as_ref()
            .filter(|p| p.method == store_core::domain::checkout::PaymentMethod::Cash)
            .map(|p| p.tendered.map_or(Decimal::ZERO, |t| t - queued.total)),
    };
    sale_printout(state, &receipt)
}

/// The till's wall clock (local, naive) as an instant; the earlier of an ambiguous hour.
fn local_to_utc(now: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    zone.from_local_datetime(&now)
        .earliest()
        .map_or_else(|| now.and_utc(), |t| t.with_timezone(&Utc))
}

/// A checkout failure in the cashier's words: what happened and what to do.
pub fn explain(e: &CheckoutError) -> String {
    match e {
        CheckoutError::TotalMismatch { expected, actual } => format!(
            "Prices changed: the till showed {expected}, current prices make {actual}. \
             Not charged. The cart now shows the new prices: check, then s to submit."
        ),
        CheckoutError::Unavailable(reason) => format!(
            "No answer from the database ({reason}). The sale is kept: press s to retry; \
             it cannot be charged twice."
        ),
        CheckoutError::Conflict(_) => {
            "The database was busy. The sale is kept: press s to retry; it cannot be charged twice."
                .into()
        }
        CheckoutError::UnknownProduct(ids) => {
            format!("Product {ids} is no longer sold: remove it (x), then s.")
        }
        CheckoutError::RetiredProduct(which) => format!(
            "{which} is no longer sold (retired). Not charged. The cart marks it: select it \
             (↑↓), x removes it, then s."
        ),
        CheckoutError::UnknownCashier(number) => format!(
            "Cashier {number} is not known to the database. Not charged: sign out (L) and sign \
             in again."
        ),
        CheckoutError::ReceiptNumberTaken(reason) => {
            format!("{reason}. Not charged: call the office.")
        }
        CheckoutError::ReceiptNumberOutOfRange(reason) => {
            format!("{reason}. Not charged: call the office.")
        }
        CheckoutError::UnknownCustomer(_) => {
            "This customer is not known: choose another (c) or a new customer (n).".into()
        }
        CheckoutError::UnknownBranch(id) => format!("Branch {id} is not known to the database."),
        CheckoutError::DuplicateProduct => {
            "A product is in the cart twice: remove one line, then s.".into()
        }
        CheckoutError::EmptyCart => "The cart is empty: add a product first.".into(),
        CheckoutError::Refused(reason) => format!("The database refused the sale: {reason}"),
        CheckoutError::SaleKeyReused(_) => {
            "This sale's key already belongs to another recorded sale: this one was not charged."
                .into()
        }
        CheckoutError::ImplausibleTime(reason) => {
            format!("The sale's time is refused ({reason}): check the till's clock.")
        }
        CheckoutError::TenderedTooLittle { total, tendered } => format!(
            "{tendered} tendered is less than the total {total}: not charged. Take at least the \
             total."
        ),
        CheckoutError::BadPayment(reason) => format!("The payment is refused ({reason})."),
        CheckoutError::Journal(reason) => format!(
            "The till could not save the sale to its journal ({reason}). It was not sent and \
             not charged. Free disk space or check the journal file, then press s to retry."
        ),
    }
}

/// The cashier's action, handled by the place the keyboard is in (`Mode`).
fn act(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Quit => {
            quit(state);
            vec![]
        }
        Action::ShowHelp => {
            state.overlay = Some(Overlay::Help { scroll: 0 });
            vec![]
        }
        Action::ShowRefused => {
            show_refused(state);
            vec![]
        }
        action => match state.mode() {
            Mode::Help => {
                on_help(state, action);
                vec![]
            }
            Mode::Refused | Mode::SetAsideReason => on_refused(state, action),
            Mode::Branch => {
                on_branch(state, action);
                vec![]
            }
            Mode::SignIn | Mode::Pin | Mode::CheckingPin => on_sign_in(state, action),
            Mode::Receipt => on_receipt(state, action),
            Mode::Report => on_report(state, action),
            Mode::RefundReceipt
            | Mode::RefundLines
            | Mode::UndoReason
            | Mode::ManagerNumber
            | Mode::ManagerPin
            | Mode::UndoWorking => on_undo(state, action),
            Mode::Sale
            | Mode::Code
            | Mode::Payment
            | Mode::ProductSearch
            | Mode::CustomerSearch
            | Mode::Confirm
            | Mode::Submitting => on_sale(state, action),
        },
    }
}

fn quit(state: &mut State) {
    let undoing = matches!(&state.screen, Screen::Undo(undo) if matches!(undo.step, UndoStep::Sending { .. }));
    if state.is_submitting() {
        state.error("the sale is being written: wait for the answer before quitting");
    } else if undoing {
        state.error("the void or refund is being written: wait for the answer before quitting");
    } else if state.cart_is_open()
        && let Some(draft) = state.draft_mut()
    {
        draft.input = Input::Confirm(Question::QuitWithCart);
    } else {
        state.quit = true;
    }
}

fn show_refused(state: &mut State) {
    match (&state.journal_warning, state.refused_sales.is_empty()) {
        (Some(warning), true) => {
            let text = warning.clone();
            state.error(text);
        }
        (None, true) => state.info("no queued sale has been refused"),
        (_, false) => {
            state.overlay = Some(Overlay::Refused {
                selected: 0,
                set_aside: None,
            });
            state.clear_message();
        }
    }
}

fn on_help(state: &mut State, action: Action) {
    let Some(Overlay::Help { scroll }) = &mut state.overlay else {
        return;
    };
    match action {
        Action::ScrollHelpUp => *scroll = scroll.saturating_sub(1),
        Action::ScrollHelpDown => {
            *scroll += 1;
            clamp_help_scroll(state);
        }
        _ => state.overlay = None,
    }
}

/// The help scrolls no further than its last line at the bottom of the terminal.
fn clamp_help_scroll(state: &mut State) {
    let max = crate::view::help_max_scroll(state, state.terminal_size);
    if let Some(Overlay::Help { scroll }) = &mut state.overlay {
        *scroll = (*scroll).min(max);
    }
}

/// `value` one step up or down in a list of `len`, staying in it.
fn step(value: &mut usize, len: usize, up: bool) {
    if len == 0 {
        *value = 0;
    } else if up {
        *value = value.saturating_sub(1);
    } else {
        *value = (*value + 1).min(len - 1);
    }
}

fn on_refused(state: &mut State, action: Action) -> Vec<Effect> {
    let len = state.refused_sales.len();
    let Some(Overlay::Refused {
        selected,
        set_aside,
    }) = &mut state.overlay
    else {
        return vec![];
    };
    let chosen = state.refused_sales.get(*selected).map(|r| r.sale.sale_key);
    match action {
        Action::Up | Action::Down => step(selected, len, action == Action::Up),
        Action::CloseRefused => state.overlay = None,
        Action::ResendRefused => {
            if let Some(sale_key) = chosen {
                state.info(format!("putting sale {sale_key} back in the queue…"));
                return vec![Effect::ResendRefused(sale_key)];
            }
        }
        Action::StartSetAside => {
            if let Some(sale_key) = chosen {
                *set_aside = Some(SetAsideDraft {
                    sale_key,
                    reason: String::new(),
                });
                state.info("type why this sale is not sent, then Enter (Esc cancels)");
            }
        }
        Action::ReasonChar(c) => edit_reason(state, &c.to_string()),
        Action::ReasonBackspace => edit_reason(state, ""),
        Action::ConfirmSetAside => {
            let Some(draft) = set_aside.take() else {
                return vec![];
            };
            let reason = draft.reason.trim().to_string();
            if reason.is_empty() {
                *set_aside = Some(draft);
                state.error("type why this sale is not sent (Esc cancels)");
                return vec![];
            }
            state.info(format!("setting sale {} aside…", draft.sale_key));
            return vec![Effect::SetAsideRefused {
                sale_key: draft.sale_key,
                reason,
            }];
        }
        Action::CancelSetAside => {
            *set_aside = None;
            state.clear_message();
        }
        _ => {}
    }
    vec![]
}

fn on_branch(state: &mut State, action: Action) {
    let branches = state.catalog.as_ref().map_or(0, |c| c.branches.len());
    let Screen::Branch(choice) = &mut state.screen else {
        return;
    };
    match action {
        Action::Up | Action::Down => step(&mut choice.cursor, branches, action == Action::Up),
        Action::ChooseBranch => {
            let cursor = choice.cursor;
            choose_branch(state, cursor);
        }
        Action::BranchByNumber(n) if n >= 1 => choose_branch(state, n as usize - 1),
        _ => {}
    }
}

fn on_receipt(state: &mut State, action: Action) -> Vec<Effect> {
    if action == Action::SignOut {
        sign_out(state);
        return vec![];
    }
    if action == Action::PrintLast {
        return print_last(state);
    }
    if action == Action::ShiftReport {
        return load_shift(state);
    }
    if matches!(
        action,
        Action::StartVoid | Action::StartRefund | Action::CloseShift
    ) && state.branch.is_some()
    {
        // From the receipt (or a slip): the next, empty sale, then what was asked.
        state.open_sale();
        state.clear_message();
        return on_sale(state, action);
    }
    if let Action::NextSale { first_digit } = action
        && state.branch.is_some()
    {
        state.open_sale();
        state.info("next sale");
        if let (Some(c), Some(draft)) = (first_digit, state.draft_mut()) {
            draft.input = Input::Code(c.to_string());
        }
    }
    vec![]
}

fn on_sale(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::ChangeBranch => {
            if state.cart_is_open() {
                state.error("finish or clear this sale before changing branch");
            } else {
                to_branch_choice(state);
            }
            vec![]
        }
        Action::SignOut => {
            sign_out(state);
            vec![]
        }
        Action::Submit => submit(state),
        Action::TypeChar(c) => type_text(state, &c.to_string()),
        Action::DeleteChar => type_text(state, ""),
        Action::PickResult => pick_result(state),
        Action::CancelSearch => {
            set_input(state, Input::Code(String::new()));
            state.clear_message();
            vec![]
        }
        Action::Yes | Action::No => answer(state, action == Action::Yes),
        Action::Up | Action::Down => {
            move_cursor(state, action == Action::Up);
            vec![]
        }
        Action::CodeDigit(c) | Action::CardChar(c) => {
            type_code(state, c);
            vec![]
        }
        Action::PrintLast => print_last(state),
        Action::ShiftReport => load_shift(state),
        Action::CloseShift => ask_close_shift(state),
        Action::StartVoid => {
            start_void(state);
            vec![]
        }
        Action::StartRefund => {
            start_refund(state);
            vec![]
        }
        Action::PayCash => pay(state, true),
        Action::PayCard => pay(state, false),
        Action::CancelPayment => {
            set_input(state, Input::Code(String::new()));
            state.info("not submitted: the sale is still open (s to pay)");
            vec![]
        }
        Action::CodeBackspace => {
            if let Some(Input::Code(code)) = state.draft_mut().map(|d| &mut d.input) {
                code.pop();
            }
            vec![]
        }
        Action::ClearCode => {
            set_input(state, Input::Code(String::new()));
            state.clear_message();
            vec![]
        }
        Action::AddCode => add_code(state),
        Action::QuickKey(n) => {
            let id = state
                .catalog
                .as_ref()
                .and_then(|c| c.products.get(usize::from(n).wrapping_sub(1)))
                .map(|p| p.id);
            match id {
                Some(id) => add_product(state, id),
                None => state.error(format!("no product on F{n}")),
            }
            vec![]
        }
        Action::NewCustomer => {
            let id = state.ids.customer_id();
            if let Some(draft) = state.draft_mut() {
                draft.customer = Some(CustomerChoice::New(id));
                state.info(format!("new customer {id}"));
            }
            vec![]
        }
        Action::FindCustomer => {
            let offline = state.is_offline();
            set_input(
                state,
                Input::CustomerSearch {
                    query: String::new(),
                    selected: 0,
                    seq: 0,
                    results: vec![],
                    searching: false,
                    offline,
                    fresh: true,
                    take_single: false,
                },
            );
            if offline {
                state.error(OFFLINE_SEARCH);
            } else {
                state.info("type the first characters of the customer id");
            }
            vec![]
        }
        Action::FindProduct => {
            set_input(
                state,
                Input::ProductSearch {
                    query: String::new(),
                    selected: 0,
                },
            );
            state.clear_message();
            vec![]
        }
        Action::RemoveSelected => {
            let Some(draft) = state.draft() else {
                return vec![];
            };
            if draft.products.is_empty() {
                state.info("the cart is empty");
            } else {
                let index = draft.selected.min(draft.products.len() - 1);
                remove_line(state, index);
            }
            vec![]
        }
        Action::RemoveLast => {
            match state.draft().map_or(0, |d| d.lines().len()) {
                0 => state.info("the cart is empty"),
                n => remove_line(state, n - 1),
            }
            vec![]
        }
        Action::ClearCart => {
            if state.draft().is_some_and(|d| d.lines().is_empty()) {
                state.info("the cart is empty");
            } else {
                set_input(state, Input::Confirm(Question::ClearCart));
            }
            vec![]
        }
        _ => vec![],
    }
}

/// Back to the branch list, the cursor on the shift's branch.
fn to_branch_choice(state: &mut State) {
    let cursor = state
        .catalog
        .as_ref()
        .zip(state.branch.as_deref())
        .and_then(|(c, id)| c.branches.iter().position(|b| b.id == id))
        .unwrap_or(0);
    state.screen = Screen::Branch(BranchChoice {
        cursor,
        wanted: None,
    });
    state.clear_message();
}

fn set_input(state: &mut State, input: Input) {
    if let Some(draft) = state.draft_mut() {
        draft.input = input;
    }
}

/// The answer to the question on screen.
fn answer(state: &mut State, yes: bool) -> Vec<Effect> {
    let Some(draft) = state.draft_mut() else {
        return vec![];
    };
    let Input::Confirm(question) = draft.input else {
        return vec![];
    };
    draft.input = Input::Code(String::new());
    match (yes, question) {
        (true, Question::ClearCart) => {
            draft.products.clear();
            draft.shown.clear();
            draft.selected = 0;
            state.info("cart cleared");
        }
        (true, Question::QuitWithCart) => state.quit = true,
        (true, Question::SignOutWithSale) => {
            tracing::info!(sale_key = %draft.sale_key, "sale dropped at sign-out");
            signed_out(state);
        }
        (true, Question::NewPrices) => {
            let lines = draft.products.clone();
            let current: Vec<Product> = lines
                .iter()
                .filter_map(|id| state.product(*id).cloned())
                .collect();
            if let Some(draft) = state.draft_mut() {
                draft.shown.extend(current.into_iter().map(|p| (p.id, p)));
            }
            return submit(state);
        }
        (false, Question::NewPrices) => {
            state.info("not submitted: the marked lines show the new prices (s to submit)")
        }
        (true, Question::NewCard(id)) => {
            draft.customer = Some(CustomerChoice::New(id));
            state.info(format!("new customer {id}, from the card"));
        }
        (false, Question::NewCard(id)) => {
            state.error(format!("customer card {id} refused: not a known customer"));
        }
        (true, Question::CloseShift) => {
            state.info("closing the shift…");
            return vec![Effect::CloseShift {
                cashier: state.cashier.as_ref().map(|c| c.number),
            }];
        }
        (false, Question::CloseShift) => state.info("the shift stays open"),
        (false, _) => state.clear_message(),
    }
    vec![]
}

/// A character of the code field: digits make a product code (at most `MAX_CODE_LEN`); hex
/// letters and dashes make it a customer card's id (at most `CARD_LEN`).
fn type_code(state: &mut State, c: char) {
    let Some(Input::Code(code)) = state.draft_mut().map(|d| &mut d.input) else {
        return;
    };
    let card = !c.is_ascii_digit() || code.chars().any(|k| !k.is_ascii_digit());
    if card && code.len() < CARD_LEN {
        code.push(c.to_ascii_lowercase());
    } else if !card && code.len() < MAX_CODE_LEN {
        code.push(c);
    } else if card {
        state.error(format!(
            "a customer card's id has {CARD_LEN} characters: Esc erases it"
        ));
    } else {
        state.error(format!(
            "a product code has at most {MAX_CODE_LEN} digits: Esc erases it"
        ));
    }
}

/// Enter on the code field: the product of a product code, or the customer of a card.
fn add_code(state: &mut State) -> Vec<Effect> {
    let code = match state.draft_mut().map(|d| &mut d.input) {
        Some(Input::Code(code)) => std::mem::take(code),
        _ => return vec![],
    };
    if code.is_empty() {
        state.info("type a product code (or scan it), then Enter");
        return vec![];
    }
    if !code.chars().all(|c| c.is_ascii_digit()) {
        return match card_id(&code) {
            Some(id) => card_scanned(state, id),
            None => {
                state.error(format!(
                    "{code} is neither a product code (digits) nor a customer card (an id like \
                     0195a3c4-7b1e-4c9a-9f0e-2d6b8a1c3e5f)"
                ));
                vec![]
            }
        };
    }
    match code.parse::<i32>().ok().and_then(|id| state.product(id)) {
        Some(product) => {
            let id = product.id;
            add_product(state, id);
        }
        None => state.error(format!("unknown product code {code}")),
    }
    vec![]
}

/// A customer card's text as an id: a whole hyphenated UUID.
pub fn card_id(text: &str) -> Option<Uuid> {
    let text = text.trim();
    if text.len() != CARD_LEN {
        return None;
    }
    Uuid::try_parse(text).ok()
}

fn choose_branch(state: &mut State, index: usize) {
    let branch = state
        .catalog
        .as_ref()
        .and_then(|c| c.branches.get(index))
        .map(|b| b.id.clone());
    match branch {
        Some(id) => start_shift(state, id),
        None if state.catalog.is_none() => state.say(
            Message::Error("the catalog is not loaded yet: waiting for the database".into()),
            Holds::WhileNoCatalog,
        ),
        None if state
            .catalog
            .as_ref()
            .is_some_and(|c| c.branches.is_empty()) =>
        {
            state.error("there is no branch yet: add one with store-core branch add ID --name NAME")
        }
        None => state.error(format!("there is no branch number {}", index + 1)),
    }
}

fn move_cursor(state: &mut State, up: bool) {
    let product_matches = match state.input() {
        Some(Input::ProductSearch { query, .. }) => state.product_matches(query).len(),
        _ => 0,
    };
    let vouched_matches = match state.input() {
        Some(Input::CustomerSearch {
            query,
            offline: true,
            ..
        }) => Some(state.vouched_matches(query).len()),
        _ => None,
    };
    let Some(draft) = state.draft_mut() else {
        return;
    };
    let lines = draft.products.len();
    match &mut draft.input {
        Input::Code(_) => step(&mut draft.selected, lines, up),
        Input::ProductSearch { selected, .. } => step(selected, product_matches, up),
        Input::CustomerSearch {
            selected, results, ..
        } => step(selected, vouched_matches.unwrap_or(results.len()), up),
        Input::Confirm(_) | Input::Submitting | Input::Payment { .. } => {}
    }
}

fn add_product(state: &mut State, id: i32) {
    let Some(product) = state.product(id).cloned() else {
        return;
    };
    let Some(draft) = state.draft_mut() else {
        return;
    };
    if draft.lines().contains(&id) {
        state.error(format!(
            "{} is already in the cart (one unit per product)",
            product.name
        ));
        return;
    }
    draft.products.push(id);
    draft.shown.insert(id, product.clone());
    draft.selected = draft.products.len() - 1;
    state.info(format!("added {} {}", product.name, product.unit_price));
}

fn remove_line(state: &mut State, index: usize) {
    let Some(draft) = state.draft_mut() else {
        return;
    };
    let id = draft.products.remove(index);
    let shown = draft.shown.remove(&id);
    let len = draft.products.len();
    draft.selected = draft.selected.min(len.saturating_sub(1));
    let name = state
        .product(id)
        .or(shown.as_ref())
        .map_or_else(|| format!("product {id}"), |p| p.name.clone());
    state.info(format!("removed {name}"));
}

/// Appends `text` to the search query (an empty `text` erases the last character).
fn edit_query(query: &mut String, text: &str) -> Result<(), String> {
    edit_text(query, text, MAX_SEARCH_LEN, "a search")
}

/// Appends `text` to `field` (an empty `text` erases the last character), keeping at most `max`
/// characters and no control characters; what was not taken is said.
fn edit_text(field: &mut String, text: &str, max: usize, what: &str) -> Result<(), String> {
    if text.is_empty() {
        field.pop();
        return Ok(());
    }
    let mut dropped_control = false;
    let mut cut = false;
    for c in text.chars() {
        if c.is_control() {
            dropped_control = true;
        } else if field.chars().count() < max {
            field.push(c);
        } else {
            cut = true;
            break;
        }
    }
    if cut {
        Err(format!(
            "{what} is at most {max} characters: the rest was not taken"
        ))
    } else if dropped_control {
        Err(format!("control characters are not taken in {what}"))
    } else {
        Ok(())
    }
}

/// Types `text` into the reason for setting a refused sale aside (empty: erases).
fn edit_reason(state: &mut State, text: &str) {
    let Some(Overlay::Refused {
        set_aside: Some(draft),
        ..
    }) = &mut state.overlay
    else {
        return;
    };
    match edit_text(&mut draft.reason, text, MAX_REASON_LEN, "a reason") {
        Ok(()) => state.clear_message(),
        Err(e) => state.error(e),
    }
}

/// What the journal did with a refused sale the cashier resent or set aside.
fn refused_sale_handled(
    state: &mut State,
    sale_key: Uuid,
    action: RefusedAction,
    result: Result<(), String>,
    status: JournalStatus,
) -> Vec<Effect> {
    journal_status(state, status);
    match (action, result) {
        (RefusedAction::Resend, Ok(())) => {
            tracing::info!(%sale_key, "refused sale put back in the queue");
            state.say(
                Message::Info(format!(
                    "sale {sale_key} is back in the queue: sending it now"
                )),
                Holds::WhileSalesWait,
            );
            state.drain_failures = 0;
            if state.drain != DrainRound::Running {
                state.drain = DrainRound::Due(state.since_start);
            }
            drain(state)
        }
        (RefusedAction::SetAside, Ok(())) => {
            tracing::info!(%sale_key, "refused sale set aside");
            state.info(format!(
                "sale {sale_key} set aside: kept in the journal, no longer to deal with"
            ));
            vec![]
        }
        (action, Err(e)) => {
            tracing::error!(%sale_key, ?action, "the journal failed: {e}");
            state.error(format!("the journal could not do that: {e}"));
            vec![]
        }
    }
}

fn type_text(state: &mut State, text: &str) -> Vec<Effect> {
    let Some(draft) = state.draft_mut() else {
        return vec![];
    };
    match &mut draft.input {
        Input::ProductSearch { query, selected } => {
            let before = query.clone();
            let result = edit_query(query, text);
            *selected = 0;
            if let Err(e) = result {
                state.error(e);
            } else if before != *query {
                state.clear_message();
            }
            vec![]
        }
        Input::Payment { tendered } => {
            match edit_tendered(tendered, text) {
                Ok(()) => state.clear_message(),
                Err(e) => state.error(e),
            }
            vec![]
        }
        Input::CustomerSearch {
            query,
            seq,
            selected,
            searching,
            results,
            offline,
            fresh,
            take_single,
        } => {
            let before = query.clone();
            let result = edit_query(query, text);
            *selected = 0;
            if *offline {
                let problem = match (&result, query.is_empty()) {
                    (Err(e), _) => Some(e.clone()),
                    (Ok(()), true) => None,
                    (Ok(()), false) => store_core::domain::catalog::uuid_prefix_range(query)
                        .err()
                        .map(|e| e.to_string()),
                };
                match problem {
                    Some(e) => state.error(e),
                    None => state.error(OFFLINE_SEARCH),
                }
                return vec![];
            }
            if before == *query {
                if let Err(e) = result {
                    state.error(e);
                }
                return vec![];
            }
            *seq += 1;
            *searching = false;
            *fresh = false;
            *take_single = false;
            let effects = if query.is_empty() {
                results.clear();
                vec![]
            } else {
                vec![Effect::DebounceCustomerSearch { seq: *seq }]
            };
            let empty = query.is_empty();
            match result {
                Err(e) => state.error(e),
                Ok(()) if empty => state.info("type the first characters of the customer id"),
                Ok(()) => state.clear_message(),
            }
            effects
        }
        _ => vec![],
    }
}

/// Pasted text: taken by a search box (cleaned and capped), or as a product code if it is
/// one; anything else is refused with a message, never taken as keys (a paste must not
/// submit a sale).
fn paste(state: &mut State, text: &str) -> Vec<Effect> {
    match state.mode() {
        Mode::ProductSearch | Mode::CustomerSearch => {
            if text.is_empty() {
                return vec![];
            }
            type_text(state, text)
        }
        Mode::SetAsideReason => {
            if !text.is_empty() {
                edit_reason(state, text);
            }
            vec![]
        }
        Mode::Payment => {
            if !text.trim().is_empty() {
                return type_text(state, text.trim());
            }
            vec![]
        }
        Mode::Sale | Mode::Code => {
            let digits = text.trim();
            let Some(Input::Code(code)) = state.draft_mut().map(|d| &mut d.input) else {
                return vec![];
            };
            let pasted_card = code.is_empty().then(|| card_id(digits)).flatten();
            if let Some(id) = pasted_card {
                // A whole card pasted (or sent by a scanner in one piece) is taken at once.
                return card_scanned(state, id);
            }
            if !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && code.len() + digits.len() <= MAX_CODE_LEN
            {
                code.push_str(digits);
                state.clear_message();
            } else {
                state.error(format!(
                    "pasted text is not a product code (digits only, at most {MAX_CODE_LEN}): not taken"
                ));
            }
            vec![]
        }
        _ => {
            state.error("pasting does nothing here");
            vec![]
        }
    }
}

fn pick_result(state: &mut State) -> Vec<Effect> {
    let Some(draft) = state.draft_mut() else {
        return vec![];
    };
    match std::mem::replace(&mut draft.input, Input::Code(String::new())) {
        Input::ProductSearch { query, selected } => {
            let id = state.product_matches(&query).get(selected).map(|p| p.id);
            match id {
                Some(id) => add_product(state, id),
                None => {
                    state.error(format!("no product name contains {query:?}"));
                    set_input(state, Input::ProductSearch { query, selected });
                }
            }
        }
        Input::CustomerSearch {
            query,
            selected,
            seq,
            results,
            searching,
            offline,
            fresh,
            take_single: _,
        } => {
            let waiting = !offline && !query.trim().is_empty() && (searching || !fresh);
            let prefix = query.clone();
            let chosen = if offline {
                state
                    .vouched_matches(&query)
                    .get(selected)
                    .map(|id| (*id, "seen by this till; offline".to_string()))
            } else {
                results
                    .get(selected)
                    .map(|c| (c.user_id, format!("{} earlier purchases", c.purchases)))
            };
            // The search as it was, but for whether it is searching and takes a single match.
            let keep = move |searching, take_single| Input::CustomerSearch {
                query,
                selected,
                seq,
                results,
                searching,
                offline,
                fresh,
                take_single,
            };
            if waiting {
                // Enter before the results came: they are waited for, and a single match taken.
                let start = !searching;
                if start && let Err(e) = store_core::domain::catalog::uuid_prefix_range(&prefix) {
                    state.error(e.to_string());
                    set_input(state, keep(searching, false));
                    return vec![];
                }
                set_input(state, keep(true, true));
                state.info("waiting for the search's results: a single match is taken");
                return if start {
                    vec![Effect::SearchCustomers { seq, prefix }]
                } else {
                    vec![]
                };
            }
            match chosen {
                Some((id, detail)) => {
                    if let Some(draft) = state.draft_mut() {
                        draft.customer = Some(CustomerChoice::Returning(id));
                    }
                    state.info(format!("returning customer {id} ({detail})"));
                }
                None => {
                    state.error(
                        "no customer chosen: keep typing the id, or Esc and n for a new one",
                    );
                    set_input(state, keep(searching, false));
                }
            }
        }
        other => set_input(state, other),
    }
    vec![]
}

/// `s`: the sale's checks, then the payment.
fn submit(state: &mut State) -> Vec<Effect> {
    let (Some(_), Some(draft)) = (&state.branch, state.draft()) else {
        return vec![];
    };
    if draft.input == Input::Submitting {
        return vec![];
    }
    if draft.lines().is_empty() {
        state.error("the cart is empty: add a product before submitting");
        return vec![];
    }
    let Some(customer) = draft.customer else {
        state.error("choose the customer first: n for a new customer, c to find one");
        return vec![];
    };
    if let CustomerChoice::Returning(id) = customer
        && !state.vouched.contains(&id)
    {
        state.error(format!(
            "customer {id} has not been confirmed by the database: find them again (c) or choose a new customer (n)"
        ));
        return vec![];
    }
    if let Some((line, missing)) = draft
        .lines()
        .iter()
        .enumerate()
        .find(|(_, id)| state.product(**id).is_none())
    {
        let name = state
            .line_name(draft, *missing)
            .map(|n| format!("{}, ", store_core::domain::input::printable(&n)))
            .unwrap_or_default();
        state.error(format!(
            "product {missing} is no longer sold ({name}line {}): select it (↑↓) and remove it (x), then s",
            line + 1
        ));
        return vec![];
    }
    let changes = state.price_changes();
    if !changes.is_empty() {
        let list: Vec<String> = changes
            .iter()
            .map(|(id, was, now)| {
                let name = state
                    .draft()
                    .and_then(|d| state.line_name(d, *id))
                    .unwrap_or_else(|| format!("product {id}"));
                format!(
                    "{} {} -> {}",
                    store_core::domain::input::printable(&name),
                    crate::view::money(*was),
                    crate::view::money(*now)
                )
            })
            .collect();
        state.info(format!("prices changed: {}", list.join(", ")));
        set_input(state, Input::Confirm(Question::NewPrices));
        return vec![];
    }
    set_input(
        state,
        Input::Payment {
            tendered: String::new(),
        },
    );
    state.info(format!(
        "total {}: type the cash tendered and Enter (Enter alone: the exact amount), or k for card",
        crate::view::money(state.total())
    ));
    vec![]
}

/// Enter (cash) or `k` (card) on the payment screen: the sale is written with its payment; cash
/// less than the total is refused on screen.
fn pay(state: &mut State, cash: bool) -> Vec<Effect> {
    let total = state.total();
    let (Some(branch), Some(draft)) = (state.branch.clone(), state.draft()) else {
        return vec![];
    };
    let (Input::Payment { tendered }, Some(customer)) = (&draft.input, draft.customer) else {
        return vec![];
    };
    let tender = if cash {
        match parse_tendered(tendered) {
            Ok(None) => Tender::Cash(None),
            Ok(Some(amount)) if amount < total => {
                state.error(format!(
                    "{} is less than the total {}: type at least the total (Enter alone: the \
                     exact amount)",
                    crate::view::money(amount),
                    crate::view::money(total)
                ));
                return vec![];
            }
            Ok(Some(amount)) => Tender::Cash(Some(amount)),
            Err(e) => {
                state.error(e);
                return vec![];
            }
        }
    } else {
        Tender::Card
    };
    let sale = Sale {
        sale_key: draft.sale_key,
        supermarket_id: branch,
        customer,
        product_ids: draft.products.clone(),
        expected_total: Some(total),
        sold_at: None,
        till: Some(state.till.clone()),
        cashier: state.cashier.as_ref().map(|c| c.number),
        receipt_no: None,
        payment: Some(match tender {
            Tender::Cash(tendered) => Payment::cash(tendered),
            Tender::Card => Payment::card(),
        }),
    };
    state.last_tender = Some(tender);
    set_input(state, Input::Submitting);
    state.info("writing the sale…");
    vec![Effect::Submit(Box::new(sale))]
}

/// The cash tendered as typed: None when nothing was typed (the exact amount).
pub fn parse_tendered(typed: &str) -> Result<Option<Decimal>, String> {
    if typed.is_empty() {
        return Ok(None);
    }
    let amount: Decimal = typed
        .parse()
        .map_err(|_| format!("{typed} is not an amount: type it like 20 or 20.50"))?;
    if amount > MAX_TENDERED {
        return Err(format!(
            "{typed} is more than a till takes ({MAX_TENDERED})"
        ));
    }
    Ok(Some(amount))
}

/// Types `text` into the cash tendered (empty: erases): digits, one decimal point (`.` or `,`)
/// and at most two decimals.
fn edit_tendered(tendered: &mut String, text: &str) -> Result<(), String> {
    if text.is_empty() {
        tendered.pop();
        return Ok(());
    }
    for c in text.chars() {
        let c = if c == ',' { '.' } else { c };
        let decimals = tendered.split_once('.').map(|(_, d)| d.len());
        match (c, decimals) {
            ('.', None) => tendered.push('.'),
            ('.', Some(_)) => return Err("the amount already has its decimal point".into()),
            ('0'..='9', Some(2..)) => {
                return Err("cash is counted to the cent: two decimals".into());
            }
            ('0'..='9', _) if tendered.len() >= 13 => {
                return Err(format!("at most {MAX_TENDERED} is taken"));
            }
            ('0'..='9', _) => tendered.push(c),
            _ => return Err("type the cash tendered in digits (and . for cents)".into()),
        }
    }
    Ok(())
}

/// Said when a void, refund or shift report is asked for while the database does not answer.
pub const NEEDS_THE_DATABASE: &str = "offline: voids, refunds and shift reports need the \
     database; sales go on (queued) until it is back";

/// What keeps a void or refund from starting now, if anything.
fn undo_refusal(state: &State, what: &str) -> Option<String> {
    if state.cart_is_open() {
        return Some(format!("finish or clear this sale before a {what}"));
    }
    if state.is_offline() {
        return Some(NEEDS_THE_DATABASE.into());
    }
    if !state.roster.iter().any(|c| c.is_manager) {
        return Some(format!(
            "a {what} needs a manager's confirmation, and no cashier is a manager: add one \
             with store-core cashier add NUMBER --name NAME --manager --pin"
        ));
    }
    None
}

/// `V`: the last sale of this shift, voided whole once a manager confirms.
fn start_void(state: &mut State) {
    if let Some(refusal) = undo_refusal(state, "void") {
        state.error(refusal);
        return;
    }
    let Some(receipt) = state.last_sale.clone() else {
        state.error(
            "there is no sale of this shift to void at this till: refund a sale by its receipt \
             number (r)",
        );
        return;
    };
    let label = receipt_label(&receipt);
    let total = crate::view::money(receipt.total_amount);
    state.screen = Screen::Undo(Box::new(Undo {
        kind: UndoKind::Void,
        key: state.ids.sale_key(),
        sold: Some(Box::new(SoldPurchase {
            receipt: *receipt,
            voided: None,
            refunded_product_ids: vec![],
            refunds: vec![],
        })),
        chosen: BTreeSet::new(),
        cursor: 0,
        reason: String::new(),
        step: UndoStep::Reason,
        maybe_recorded: false,
        leaving_warned: false,
    }));
    state.info(format!(
        "void {label} ({total}): type why, then Enter (Esc cancels)"
    ));
}

/// `r`: a sale found by its receipt number, refunded whole or line by line once a manager
/// confirms.
fn start_refund(state: &mut State) {
    if let Some(refusal) = undo_refusal(state, "refund") {
        state.error(refusal);
        return;
    }
    state.screen = Screen::Undo(Box::new(Undo {
        kind: UndoKind::Refund,
        key: state.ids.sale_key(),
        sold: None,
        chosen: BTreeSet::new(),
        cursor: 0,
        reason: String::new(),
        step: UndoStep::ReceiptNumber(String::new()),
        maybe_recorded: false,
        leaving_warned: false,
    }));
    state.info(format!(
        "refund: type or scan the receipt number (like {}), then Enter",
        store_core::domain::checkout::receipt_number(&state.till, 12)
    ));
}

/// How a sale is named on screen and slips: its receipt number, else its purchase number.
pub fn receipt_label(receipt: &Receipt) -> String {
    receipt
        .receipt_number()
        .unwrap_or_else(|| format!("purchase #{}", receipt.purchase_id))
}

fn undo_mut(state: &mut State) -> Option<&mut Undo> {
    match &mut state.screen {
        Screen::Undo(undo) => Some(undo),
        _ => None,
    }
}

fn cancel_undo(state: &mut State) {
    let Some(undo) = undo_mut(state) else {
        return;
    };
    let what = match undo.kind {
        UndoKind::Void => "void",
        UndoKind::Refund => "refund",
    };
    if undo.maybe_recorded && !undo.leaving_warned {
        undo.leaving_warned = true;
        state.error(format!(
            "the {what} may have been recorded (the database did not answer): the manager's \
             number and PIN send it again with the same key, which cannot undo twice; Esc \
             again leaves it"
        ));
        return;
    }
    let maybe_recorded = undo.maybe_recorded;
    state.open_sale();
    if maybe_recorded {
        state.error(format!(
            "{what} left: it may have been recorded; find the sale by its receipt number (r) \
             to see"
        ));
    } else {
        state.info(format!("{what} cancelled: nothing was changed"));
    }
}

fn on_undo(state: &mut State, action: Action) -> Vec<Effect> {
    if action == Action::CancelUndo {
        cancel_undo(state);
        return vec![];
    }
    let till = state.till.clone();
    let Some(undo) = undo_mut(state) else {
        return vec![];
    };
    match (&mut undo.step, action) {
        (UndoStep::ReceiptNumber(typed), Action::TypeChar(c))
            if typed.chars().count() < 40 && !c.is_control() =>
        {
            typed.push(c);
        }
        (UndoStep::ReceiptNumber(typed), Action::DeleteChar) => {
            typed.pop();
        }
        (UndoStep::ReceiptNumber(typed), Action::FindReceipt) => {
            let typed = typed.trim().to_string();
            let wanted = match typed.parse::<i64>() {
                Ok(n) if n > 0 => Some((till, n)),
                _ => store_core::domain::refund::parse_receipt_number(&typed),
            };
            let Some((till, receipt_no)) = wanted else {
                state.error(format!(
                    "{} is not a receipt number: type it as printed (like {})",
                    store_core::domain::input::quote(&typed),
                    store_core::domain::checkout::receipt_number(&state.till, 12)
                ));
                return vec![];
            };
            state.lookups += 1;
            let seq = state.lookups;
            if let Some(undo) = undo_mut(state) {
                undo.step = UndoStep::Looking { seq, typed };
            }
            state.info(format!(
                "looking for sale {}…",
                store_core::domain::checkout::receipt_number(&till, receipt_no)
            ));
            return vec![Effect::FindReceipt {
                seq,
                till,
                receipt_no,
            }];
        }
        (UndoStep::Lines, Action::Up | Action::Down) => {
            let len = undo.refundable().len();
            step(&mut undo.cursor, len, action == Action::Up);
        }
        (UndoStep::Lines, Action::ToggleLine) => {
            let line = undo.refundable().get(undo.cursor).map(|l| l.product_id);
            if let Some(id) = line
                && !undo.chosen.remove(&id)
            {
                undo.chosen.insert(id);
            }
        }
        (UndoStep::Lines, Action::AllLines) => {
            let all: BTreeSet<i32> = undo.refundable().iter().map(|l| l.product_id).collect();
            undo.chosen = if undo.chosen == all {
                BTreeSet::new()
            } else {
                all
            };
        }
        (UndoStep::Lines, Action::LinesChosen) => {
            if undo.chosen.is_empty() {
                state.error("choose the lines given back: Space on each, or a for all of them");
                return vec![];
            }
            let amount = crate::view::money(undo.amount());
            undo.step = UndoStep::Reason;
            state.info(format!(
                "refund {amount}: type why, then Enter (Esc cancels)"
            ));
        }
        (UndoStep::Reason, Action::ReasonChar(c)) => {
            let result = edit_text(&mut undo.reason, &c.to_string(), MAX_REASON_LEN, "a reason");
            match result {
                Ok(()) => state.clear_message(),
                Err(e) => state.error(e),
            }
        }
        (UndoStep::Reason, Action::ReasonBackspace) => {
            undo.reason.pop();
        }
        (UndoStep::Reason, Action::ReasonDone) => {
            if undo.reason.trim().is_empty() {
                state.error("type why, then Enter (Esc cancels)");
                return vec![];
            }
            undo.step = UndoStep::ManagerNumber(String::new());
            state.info("a manager confirms: the manager's number, then Enter");
        }
        (UndoStep::ManagerNumber(number), Action::CodeDigit(c))
            if number.len() < MAX_CASHIER_DIGITS =>
        {
            number.push(c);
        }
        (UndoStep::ManagerNumber(number), Action::CodeBackspace) => {
            number.pop();
        }
        (UndoStep::ManagerNumber(number), Action::ManagerNumber) => {
            let typed = std::mem::take(number);
            manager_number(state, &typed);
        }
        (UndoStep::ManagerPin { pin, .. }, Action::TypeChar(c)) if pin.len() < MAX_PIN_LEN => {
            pin.0.push(c);
            state.clear_message();
        }
        (UndoStep::ManagerPin { pin, .. }, Action::DeleteChar) => {
            pin.0.pop();
        }
        (UndoStep::ManagerPin { manager, pin }, Action::CheckPin) => {
            if pin.is_empty() {
                state.error("the manager types their PIN, then Enter (Esc cancels)");
                return vec![];
            }
            let pin = std::mem::take(pin);
            let manager = manager.clone();
            return send_undo(state, manager, pin);
        }
        _ => {}
    }
    vec![]
}

/// Enter after the manager's number: on to the PIN if they are a manager with a PIN.
fn manager_number(state: &mut State, typed: &str) {
    let credential = typed
        .parse::<i32>()
        .ok()
        .and_then(|n| state.credential(n))
        .cloned();
    let refusal = match &credential {
        None if typed.is_empty() => Some("the manager types their number, then Enter".to_string()),
        None => Some(format!("there is no cashier number {typed}")),
        Some(c) if !c.is_manager => Some(format!(
            "cashier {} is not a manager: a manager confirms",
            cashier_label(&c.cashier)
        )),
        Some(c) if !c.needs_pin() => Some(format!(
            "manager {} has no PIN: a manager confirms with their PIN (store-core cashier pin)",
            cashier_label(&c.cashier)
        )),
        Some(_) => None,
    };
    if let Some(refusal) = refusal {
        state.error(refusal);
        return;
    }
    let Some(credential) = credential else {
        return;
    };
    state.info(format!(
        "manager {}: type your PIN, then Enter",
        cashier_label(&credential.cashier)
    ));
    if let Some(undo) = undo_mut(state) {
        undo.step = UndoStep::ManagerPin {
            manager: credential.cashier,
            pin: Pin::default(),
        };
    }
}

/// Enter after the manager's PIN: the void or refund sent with it. The database checks the PIN
/// (the one authority: a till's login cannot confirm without it) and writes it if it is theirs.
fn send_undo(state: &mut State, manager: Cashier, pin: Pin) -> Vec<Effect> {
    let till = state.till.clone();
    let cashier = state.cashier.as_ref().map(|c| c.number);
    let Some(undo) = undo_mut(state) else {
        return vec![];
    };
    let Some(sold) = undo.sold.as_deref() else {
        return vec![];
    };
    let purchase_id = sold.receipt.purchase_id;
    let reason = undo.reason.trim().to_string();
    let manager_pin = ManagerPin::new(pin.expose());
    let effect = match undo.kind {
        UndoKind::Void => Effect::Void(Box::new(VoidRequest {
            void_key: undo.key,
            purchase_id,
            till,
            cashier,
            manager: manager.number,
            manager_pin,
            reason,
        })),
        UndoKind::Refund => Effect::Refund(Box::new(RefundRequest {
            refund_key: undo.key,
            purchase_id,
            product_ids: undo.chosen.iter().copied().collect(),
            till,
            cashier,
            manager: manager.number,
            manager_pin,
            reason,
        })),
    };
    tracing::info!(manager = manager.number, purchase_id, kind = ?undo.kind, "sent for a manager's confirmation");
    undo.step = UndoStep::Sending { manager };
    undo.leaving_warned = false;
    state.info("checking the manager's PIN and writing it…");
    vec![effect]
}

/// A refund's sale found (or not) by its receipt number.
fn receipt_found(state: &mut State, seq: u64, result: Result<Option<SoldPurchase>, DbFailure>) {
    let typed = match &state.screen {
        Screen::Undo(undo) => match &undo.step {
            UndoStep::Looking {
                seq: current,
                typed,
            } if *current == seq => typed.clone(),
            _ => return,
        },
        _ => return,
    };
    match &result {
        Ok(_) => state.db = DbState::Connected,
        Err(failure) if failure.connection => {
            state.db = DbState::Reconnecting(failure.message.clone());
        }
        Err(_) => {}
    }
    let (step, message) = match result {
        Ok(None) => (
            UndoStep::ReceiptNumber(typed.clone()),
            Message::Error(format!("there is no sale with receipt number {typed}")),
        ),
        Ok(Some(sold)) => {
            let label = receipt_label(&sold.receipt);
            let left = sold.refundable_lines().len();
            if sold.voided.is_some() {
                (
                    UndoStep::ReceiptNumber(typed),
                    Message::Error(format!(
                        "sale {label} was voided: there is nothing to refund"
                    )),
                )
            } else if left == 0 {
                (
                    UndoStep::ReceiptNumber(typed),
                    Message::Error(format!("every line of sale {label} was refunded already")),
                )
            } else {
                if let Some(undo) = undo_mut(state) {
                    undo.sold = Some(Box::new(sold));
                    undo.chosen.clear();
                    undo.cursor = 0;
                }
                (
                    UndoStep::Lines,
                    Message::Info(format!(
                        "sale {label}: {left} line(s) can be refunded; Space chooses, a all, then \
                         Enter"
                    )),
                )
            }
        }
        Err(failure) if failure.connection => (
            UndoStep::ReceiptNumber(typed),
            Message::Error(NEEDS_THE_DATABASE.into()),
        ),
        Err(failure) => (
            UndoStep::ReceiptNumber(typed),
            Message::Error(format!(
                "the sale could not be looked up: {}",
                failure.message
            )),
        ),
    };
    if let Some(undo) = undo_mut(state) {
        undo.step = step;
    }
    state.say(message, Holds::UntilReplaced);
}

/// The database's answer to a void or refund: its slip (printed), or why not.
fn undone(state: &mut State, key: Uuid, result: Result<Undone, RefundError>) -> Vec<Effect> {
    let Some(undo) =
        undo_mut(state).filter(|u| u.key == key && matches!(u.step, UndoStep::Sending { .. }))
    else {
        tracing::warn!(%key, "an answer for a void or refund that is not being written");
        return vec![];
    };
    match result {
        Ok(done) => {
            let Some(sold) = undo.sold.take() else {
                return vec![];
            };
            let original = sold.receipt;
            state.db = DbState::Connected;
            let label = receipt_label(&original);
            let (text, printout) = match &done {
                Undone::Void(v) => {
                    if state
                        .last_sale
                        .as_ref()
                        .is_some_and(|s| s.purchase_id == v.purchase_id)
                    {
                        state.last_sale = None;
                    }
                    tracing::info!(purchase_id = v.purchase_id, amount = %v.amount, replayed = v.replayed, "sale voided");
                    (
                        format!(
                            "sale {label} voided: {} to give back",
                            crate::view::money(v.amount)
                        ),
                        void_printout(state, v, &original),
                    )
                }
                Undone::Refund(r) => {
                    tracing::info!(purchase_id = r.purchase_id, refund_id = r.refund_id, amount = %r.amount, replayed = r.replayed, "sale refunded");
                    (
                        format!(
                            "refund #{} of sale {label}: {} to give back",
                            r.refund_id,
                            crate::view::money(r.amount)
                        ),
                        refund_printout(state, r, &original),
                    )
                }
            };
            state.info(text);
            state.screen = Screen::UndoDone(Box::new(UndoDone { done, original }));
            print(state, printout)
        }
        Err(e) => {
            tracing::warn!(%key, "not undone: {e}");
            let UndoStep::Sending { manager } = &undo.step else {
                return vec![];
            };
            let manager = manager.clone();
            if e.is_connection_problem() {
                // Kept with its key: it may have been written; sent again, it is written once
                // or replayed, never twice.
                undo.step = UndoStep::ManagerNumber(String::new());
                undo.maybe_recorded = true;
                undo.leaving_warned = false;
                state.db = DbState::Reconnecting(e.to_string());
                state.error(format!(
                    "no answer ({e}): it may have been recorded. The manager's number and PIN \
                     send it again with the same key (harmless), or Esc"
                ));
            } else if let RefundError::WrongPin(_) = e {
                tracing::warn!(manager = manager.number, "wrong manager PIN");
                let label = cashier_label(&manager);
                undo.step = UndoStep::ManagerPin {
                    manager,
                    pin: Pin::default(),
                };
                state.error(format!(
                    "wrong PIN for manager {label}: type it again (Esc cancels)"
                ));
            } else if matches!(
                e,
                RefundError::TooManyWrongPins(_) | RefundError::NotAManager(_)
            ) {
                undo.step = UndoStep::ManagerNumber(String::new());
                state.error(format!(
                    "not done: {e} (another manager may confirm, or Esc)"
                ));
            } else {
                state.open_sale();
                state.error(format!("not done: {e}"));
            }
            vec![]
        }
    }
}

fn void_printout(state: &State, v: &VoidRecord, original: &Receipt) -> Printout {
    let branch_name = state
        .name_of_branch(&original.supermarket_id)
        .unwrap_or_default()
        .to_string();
    Printout {
        what: format!("the void slip of {}", receipt_label(original)),
        text: store_core::domain::receipt_text::void_slip(
            v,
            original,
            &branch_name,
            state.zone(),
            state.print_setup.width,
        ),
    }
}

fn refund_printout(state: &State, r: &RefundRecord, original: &Receipt) -> Printout {
    let branch_name = state
        .name_of_branch(&original.supermarket_id)
        .unwrap_or_default()
        .to_string();
    Printout {
        what: format!("the refund slip #{}", r.refund_id),
        text: store_core::domain::receipt_text::refund_slip(
            r,
            original,
            &branch_name,
            state.zone(),
            state.print_setup.width,
        ),
    }
}

/// `X`: the running shift's figures, from the database.
fn load_shift(state: &mut State) -> Vec<Effect> {
    if state.is_offline() {
        state.error(NEEDS_THE_DATABASE);
        return vec![];
    }
    state.info("loading the shift report…");
    vec![Effect::LoadShift]
}

/// `Z`: asks before closing the shift.
fn ask_close_shift(state: &mut State) -> Vec<Effect> {
    if state.cart_is_open() {
        state.error("finish or clear this sale before closing the shift");
        return vec![];
    }
    if state.is_offline() {
        state.error(NEEDS_THE_DATABASE);
        return vec![];
    }
    set_input(state, Input::Confirm(Question::CloseShift));
    vec![]
}

/// A shift report arrived: shown over the screen; a closed shift's is printed.
fn shift_report(
    state: &mut State,
    result: Result<ShiftReport, DbFailure>,
    closed: bool,
) -> Vec<Effect> {
    match result {
        Ok(report) => {
            state.db = DbState::Connected;
            let printout = report_printout(state, &report);
            state.overlay = Some(Overlay::Report(Box::new(report)));
            if closed {
                tracing::info!("shift closed");
                state.last_sale = None;
                state.info("shift closed: its figures are final; the next sale opens a new shift");
                return print(state, printout);
            }
            state.info("X report: the shift's running figures (p prints them)");
            vec![]
        }
        Err(failure) => {
            if failure.connection {
                state.db = DbState::Reconnecting(failure.message.clone());
            }
            let what = if closed {
                "the shift was not closed"
            } else {
                "the shift report could not be loaded"
            };
            state.error(format!("{what}: {}", failure.message));
            vec![]
        }
    }
}

fn report_printout(state: &State, report: &ShiftReport) -> Printout {
    Printout {
        what: if report.is_closed() {
            "the Z report".into()
        } else {
            "the X report".into()
        },
        text: store_core::domain::receipt_text::shift_report_text(
            report,
            state.zone(),
            state.print_setup.width,
        ),
    }
}

fn on_report(state: &mut State, action: Action) -> Vec<Effect> {
    let Some(Overlay::Report(report)) = &state.overlay else {
        return vec![];
    };
    match action {
        Action::PrintReport => {
            let printout = report_printout(state, report);
            if !state.print_setup.printer {
                state.last_printout = Some(printout);
                state.error(
                    "no receipt printer is set: start the till with --receipt-command or \
                     --receipt-file (or receipt_command / receipt_file in the config file)",
                );
                return vec![];
            }
            state.info(format!("printing {}…", printout.what));
            print(state, printout)
        }
        _ => {
            state.overlay = None;
            state.clear_message();
            vec![]
        }
    }
}
