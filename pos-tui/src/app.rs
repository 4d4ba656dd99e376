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
use store_core::domain::checkout::{CustomerChoice, Receipt, ReceiptLine, Sale};
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
            redraw: true,
        }
    }

    /// `at` on the till's clock: its branch's own time zone if it has one, else the chain's
    /// (the `timezone` setting).
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        let branch_zone = self
            .branch
            .as_deref()
            .and_then(|id| self.catalog.as_ref()?.find_branch(id)?.timezone);
        at.with_timezone(&branch_zone.unwrap_or(self.time_zone))
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
            None => {}
        }
        match &self.screen {
            Screen::Branch(_) => Mode::Branch,
            Screen::SignIn(SignIn::Number(_)) => Mode::SignIn,
            Screen::SignIn(SignIn::Pin { .. }) => Mode::Pin,
            Screen::SignIn(SignIn::Checking { .. }) => Mode::CheckingPin,
            Screen::Receipt(_) | Screen::Queued(_) => Mode::Receipt,
            Screen::Sale(draft) => match draft.input {
                Input::Code(_) => Mode::Sale,
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
    }
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
    if *current != seq {
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
    }) = state.draft_mut().map(|d| &mut d.input)
    else {
        return;
    };
    if *current != seq || *offline {
        return;
    }
    *searching = false;
    match result {
        Ok(found) => {
            let text = if found.is_empty() {
                format!("no customer id starts with {query}")
            } else {
                format!("{} customer(s) start with {query}", found.len())
            };
            let ids: Vec<Uuid> = found.iter().map(|c| c.user_id).collect();
            *results = found;
            *selected = 0;
            state.vouched.extend(ids);
            state.db = DbState::Connected;
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
            state.screen = Screen::Queued(Box::new(QueuedSale { sale, lines, total }));
            vec![]
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
            state.screen = Screen::Receipt(Box::new(receipt));
            vec![]
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
            Mode::Receipt => {
                on_receipt(state, action);
                vec![]
            }
            Mode::Sale
            | Mode::ProductSearch
            | Mode::CustomerSearch
            | Mode::Confirm
            | Mode::Submitting => on_sale(state, action),
        },
    }
}

fn quit(state: &mut State) {
    if state.is_submitting() {
        state.error("the sale is being written: wait for the answer before quitting");
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

fn on_receipt(state: &mut State, action: Action) {
    if action == Action::SignOut {
        sign_out(state);
        return;
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
        Action::PickResult => {
            pick_result(state);
            vec![]
        }
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
        Action::CodeDigit(c) => {
            if let Some(Input::Code(code)) = state.draft_mut().map(|d| &mut d.input) {
                if code.len() < MAX_CODE_LEN {
                    code.push(c);
                } else {
                    state.error(format!(
                        "a product code has at most {MAX_CODE_LEN} digits: Esc erases it"
                    ));
                }
            }
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
        Action::AddCode => {
            add_code(state);
            vec![]
        }
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
        (false, _) => state.clear_message(),
    }
    vec![]
}

fn add_code(state: &mut State) {
    let code = match state.draft_mut().map(|d| &mut d.input) {
        Some(Input::Code(code)) => std::mem::take(code),
        _ => return,
    };
    if code.is_empty() {
        state.info("type a product code (or scan it), then Enter");
        return;
    }
    match code.parse::<i32>().ok().and_then(|id| state.product(id)) {
        Some(product) => {
            let id = product.id;
            add_product(state, id);
        }
        None => state.error(format!("unknown product code {code}")),
    }
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
        Input::Confirm(_) | Input::Submitting => {}
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
        Input::CustomerSearch {
            query,
            seq,
            selected,
            searching,
            results,
            offline,
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
        Mode::Sale => {
            let digits = text.trim();
            let Some(Input::Code(code)) = state.draft_mut().map(|d| &mut d.input) else {
                return vec![];
            };
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

fn pick_result(state: &mut State) {
    let Some(draft) = state.draft_mut() else {
        return;
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
        } => {
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
                    set_input(
                        state,
                        Input::CustomerSearch {
                            query,
                            selected,
                            seq,
                            results,
                            searching,
                            offline,
                        },
                    );
                }
            }
        }
        other => set_input(state, other),
    }
}

fn submit(state: &mut State) -> Vec<Effect> {
    let (Some(branch), Some(draft)) = (state.branch.clone(), state.draft()) else {
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
    let Some(draft) = state.draft() else {
        return vec![];
    };
    let sale = Sale {
        sale_key: draft.sale_key,
        supermarket_id: branch,
        customer,
        product_ids: draft.products.clone(),
        expected_total: Some(state.total()),
        sold_at: None,
        till: Some(state.till.clone()),
        cashier: state.cashier.as_ref().map(|c| c.number),
        receipt_no: None,
        payment: None,
    };
    set_input(state, Input::Submitting);
    state.info("writing the sale…");
    vec![Effect::Submit(Box::new(sale))]
}
