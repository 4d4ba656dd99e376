//! The till as a state machine: `update(&mut State, Msg) -> Vec<Effect>`. Nothing here waits on
//! the database: effects are run elsewhere (effects.rs) and their results come back as `Msg`s.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::NaiveDateTime;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use rust_decimal::Decimal;
use store_core::domain::catalog::{Catalog, CustomerSummary, Product};
use store_core::domain::checkout::{CustomerChoice, Receipt, ReceiptLine, Sale};
use store_core::error::CheckoutError;
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    Branch,
    Sale,
    Receipt(Box<Receipt>),
    /// The database could not be reached: the sale is saved in the till's journal and will be
    /// sent when the database is back.
    Queued(Box<QueuedSale>),
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

/// The sale being rung up. Its `sale.sale_key` is fixed when it opens and travels with every
/// submission of it, so a retry can never make a second purchase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// `sale.customer` is not used until the cashier chose one (`customer`).
    pub sale: Sale,
    pub customer: Option<CustomerChoice>,
    /// The selected cart line.
    pub selected: usize,
}

impl Draft {
    pub fn open(branch: &str) -> Draft {
        Draft {
            sale: Sale::open(branch, CustomerChoice::new_customer()),
            customer: None,
            selected: 0,
        }
    }

    pub fn lines(&self) -> &[i32] {
        &self.sale.product_ids
    }
}

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Question {
    ClearCart,
    QuitWithCart,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Info(String),
    Error(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The wall clock of the last tick, for the screen.
    pub now: NaiveDateTime,
    /// Monotonic time of the last tick (since start), for scheduling.
    pub since_start: Duration,
    pub db: DbState,
    /// Where the database is (no password), for the status bar.
    pub db_name: String,
    pub catalog: Option<Catalog>,
    pub catalog_loading: bool,
    /// A change was announced while a load was running: load again after it.
    pub catalog_stale: bool,
    /// Monotonic, like `since_start`.
    pub next_catalog_load: Duration,
    /// Failed loads in a row, for the back-off.
    pub catalog_failures: u32,
    /// `--supermarket`, until the catalog confirms it.
    pub wanted_branch: Option<String>,
    pub branch: Option<String>,
    pub branch_cursor: usize,
    pub screen: Screen,
    pub draft: Option<Draft>,
    pub input: Input,
    /// The sale being written: its key (keys are ignored meanwhile).
    pub submitting: Option<Uuid>,
    pub message: Option<Message>,
    pub help: bool,
    pub sales_done: u32,
    pub no_color: bool,
    pub quit: bool,
    /// Sales in the journal not yet in the database.
    pub pending_sales: usize,
    /// Queued sales the database refused when they were sent.
    pub refused_sales: Vec<RefusedSale>,
    /// Queued sales are being sent.
    pub draining: bool,
    /// Monotonic, like `since_start`.
    pub next_drain: Duration,
    /// Customers the database confirmed to this till this session (search results, receipts):
    /// the only returning customers that can be sold to offline. Customers are never deleted.
    pub vouched: BTreeSet<Uuid>,
    /// The list of refused queued sales is on screen.
    pub show_refused: bool,
    /// The refused sale selected in that list.
    pub refused_selected: usize,
    /// The reason being typed to set the selected refused sale aside.
    pub set_aside: Option<SetAsideDraft>,
    /// The journal was damaged when the till opened it (see `JournalStatus::warning`).
    pub journal_warning: Option<String>,
    /// Rounds of sending queued sales that failed in a row, for the back-off.
    pub drain_failures: u32,
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
    /// Put a refused sale back in the journal's queue.
    ResendRefused(Uuid),
    /// Set a refused sale aside with the cashier's reason.
    SetAsideRefused {
        sale_key: Uuid,
        reason: String,
    },
}

impl State {
    pub fn new(clock: Clock, db_name: String, wanted_branch: Option<String>) -> State {
        State {
            now: clock.wall,
            since_start: clock.since_start,
            db: DbState::Connecting,
            db_name,
            catalog: None,
            catalog_loading: false,
            catalog_stale: false,
            next_catalog_load: clock.since_start,
            catalog_failures: 0,
            wanted_branch,
            branch: None,
            branch_cursor: 0,
            screen: Screen::Branch,
            draft: None,
            input: Input::Code(String::new()),
            submitting: None,
            message: None,
            help: false,
            sales_done: 0,
            no_color: false,
            quit: false,
            pending_sales: 0,
            refused_sales: Vec::new(),
            draining: false,
            next_drain: clock.since_start,
            vouched: BTreeSet::new(),
            show_refused: false,
            refused_selected: 0,
            set_aside: None,
            journal_warning: None,
            drain_failures: 0,
        }
    }

    /// The database is not known to answer: searches cannot run, sales are queued.
    pub fn is_offline(&self) -> bool {
        self.db != DbState::Connected
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
        if self.help {
            return Mode::Help;
        }
        if self.show_refused {
            return match self.set_aside {
                Some(_) => Mode::SetAsideReason,
                None => Mode::Refused,
            };
        }
        match self.screen {
            Screen::Branch => Mode::Branch,
            Screen::Receipt(_) | Screen::Queued(_) => Mode::Receipt,
            Screen::Sale if self.submitting.is_some() => Mode::Submitting,
            Screen::Sale => match self.input {
                Input::Code(_) => Mode::Sale,
                Input::ProductSearch { .. } => Mode::ProductSearch,
                Input::CustomerSearch { .. } => Mode::CustomerSearch,
                Input::Confirm(_) => Mode::Confirm,
            },
        }
    }

    pub fn branch_name(&self) -> Option<&str> {
        let id = self.branch.as_deref()?;
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
        self.draft
            .as_ref()
            .map(|d| {
                d.lines()
                    .iter()
                    .filter_map(|id| self.product(*id))
                    .map(|p| p.unit_price)
                    .sum()
            })
            .unwrap_or_default()
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

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message::Info(text.into()));
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message::Error(text.into()));
    }

    fn cart_is_open(&self) -> bool {
        self.draft
            .as_ref()
            .is_some_and(|d| !d.lines().is_empty() || d.customer.is_some())
    }
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => {
            if key.kind == KeyEventKind::Release {
                return vec![];
            }
            match keymap::resolve(state.mode(), &key) {
                Some(action) => act(state, action, &key),
                None => vec![],
            }
        }
        Msg::Tick(clock) => {
            state.now = clock.wall;
            state.since_start = clock.since_start;
            let mut effects = vec![];
            if !state.catalog_loading && state.since_start >= state.next_catalog_load {
                effects.extend(load_catalog(state));
            }
            if state.since_start >= state.next_drain {
                effects.extend(drain(state));
            }
            effects
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
        Msg::CustomerSearchDue { seq } => match &mut state.input {
            Input::CustomerSearch {
                query,
                seq: current,
                searching,
                results,
                offline: false,
                ..
            } if *current == seq => match store_core::domain::catalog::uuid_prefix_range(query) {
                Ok(_) => {
                    *searching = true;
                    let prefix = query.clone();
                    vec![Effect::SearchCustomers { seq, prefix }]
                }
                Err(e) => {
                    results.clear();
                    let text = e.to_string();
                    state.error(text);
                    vec![]
                }
            },
            _ => vec![],
        },
        Msg::CustomerResults { seq, result } => {
            let Input::CustomerSearch {
                seq: current,
                results,
                selected,
                searching,
                query,
                offline,
            } = &mut state.input
            else {
                return vec![];
            };
            if *current != seq || *offline {
                return vec![];
            }
            *searching = false;
            match result {
                Ok(found) => {
                    let text = if found.is_empty() {
                        format!("no customer id starts with {query}")
                    } else {
                        format!("{} customer(s) start with {query}", found.len())
                    };
                    state.vouched.extend(found.iter().map(|c| c.user_id));
                    *results = found;
                    *selected = 0;
                    state.db = DbState::Connected;
                    state.info(text);
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
            vec![]
        }
        Msg::Submitted { sale_key, result } => submitted(state, sale_key, result),
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
    if state.catalog_loading {
        state.catalog_stale = true;
        vec![]
    } else {
        load_catalog(state)
    }
}

/// Starts sending the queued sales, unless nothing waits or a round (or a submission, which
/// may be sending the newest of them) is under way.
fn drain(state: &mut State) -> Vec<Effect> {
    if state.pending_sales == 0 || state.draining || state.submitting.is_some() {
        return vec![];
    }
    state.draining = true;
    vec![Effect::Drain]
}

fn journal_status(state: &mut State, status: JournalStatus) {
    state.pending_sales = status.pending;
    state.refused_sales = status.refused;
    state.refused_selected = state
        .refused_selected
        .min(state.refused_sales.len().saturating_sub(1));
    if state.set_aside.as_ref().is_some_and(|d| {
        !state
            .refused_sales
            .iter()
            .any(|r| r.sale.sale_key == d.sale_key)
    }) {
        state.set_aside = None;
    }
    if state.refused_sales.is_empty() {
        state.show_refused = false;
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
fn drain_delay(failures: u32) -> Duration {
    (DRAIN_EVERY * 2u32.pow(failures.min(4))).min(DRAIN_BACKOFF_MAX)
}

fn drained(state: &mut State, result: Result<DrainReport, DbFailure>, status: JournalStatus) {
    state.draining = false;
    let failed = match &result {
        Ok(report) => report.stopped.is_some(),
        Err(_) => true,
    };
    state.drain_failures = if failed { state.drain_failures + 1 } else { 0 };
    state.next_drain = state.since_start + drain_delay(state.drain_failures);
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
                    state.error(format!(
                        "queued sales not sent yet ({e}): they are kept and sent again in {retry_in} s"
                    ));
                    return;
                }
                _ => {}
            }
            if report.refused > 0 {
                tracing::warn!(refused = report.refused, "queued sales refused on replay");
                state.error(format!(
                    "the database refused {} queued sale(s): R lists them",
                    report.refused
                ));
            } else if report.sent > 0 {
                state.info(format!(
                    "{} queued sale(s) sent to the database",
                    report.sent
                ));
            }
        }
        Err(failure) if failure.connection => {
            state.db = DbState::Reconnecting(failure.message);
        }
        Err(failure) => {
            state.error(format!("sending queued sales failed: {}", failure.message));
        }
    }
}

fn load_catalog(state: &mut State) -> Vec<Effect> {
    state.catalog_loading = true;
    state.catalog_stale = false;
    vec![Effect::LoadCatalog]
}

fn catalog_loaded(state: &mut State, result: Result<Catalog, DbFailure>) -> Vec<Effect> {
    state.catalog_loading = false;
    let mut effects = vec![];
    match result {
        Ok(catalog) => {
            let reconnected = state.db != DbState::Connected;
            state.catalog = Some(catalog);
            state.db = DbState::Connected;
            if reconnected {
                effects.extend(drain(state));
            }
            state.catalog_failures = 0;
            state.next_catalog_load = state.since_start + CATALOG_REFRESH;
            if let Some(wanted) = state.wanted_branch.take()
                && state.branch.is_none()
                && state.screen == Screen::Branch
            {
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
            let backoff = Duration::from_secs(2u64.pow(state.catalog_failures.min(4)).min(30));
            state.next_catalog_load = state.since_start + backoff;
            if failure.connection {
                state.db = DbState::Reconnecting(failure.message);
            } else {
                state.error(format!("loading the catalog failed: {}", failure.message));
            }
        }
    }
    if state.catalog_stale {
        effects.extend(load_catalog(state));
    }
    effects
}

fn start_shift(state: &mut State, branch: String) {
    state.draft = Some(Draft::open(&branch));
    state.branch = Some(branch);
    let text = match (state.branch.as_deref(), state.branch_name()) {
        (Some(id), Some(name)) => format!("branch {id} {name}: ready for the first sale"),
        (id, _) => format!(
            "branch {}: ready for the first sale",
            id.unwrap_or_default()
        ),
    };
    state.info(text);
    state.screen = Screen::Sale;
    state.input = Input::Code(String::new());
}

fn submitted(
    state: &mut State,
    sale_key: Uuid,
    result: Result<Outcome, CheckoutError>,
) -> Vec<Effect> {
    if state.submitting != Some(sale_key) {
        tracing::warn!(%sale_key, "a submission result for a sale that is not being submitted");
        return vec![];
    }
    state.submitting = None;
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
            state.draft = None;
            state.sales_done += 1;
            // The journal's own count follows (Msg::Journal); until then, count this one.
            state.pending_sales += 1;
            state.next_drain = state.since_start + DRAIN_EVERY;
            state.info("sale saved offline: it will be sent when the database is back");
            state.screen = Screen::Queued(Box::new(QueuedSale { sale, lines, total }));
            vec![]
        }
        Ok(Outcome::Recorded(receipt)) => {
            tracing::info!(purchase_id = receipt.purchase_id, %sale_key, total = %receipt.total_amount, replayed = receipt.replayed, "sale recorded");
            state.db = DbState::Connected;
            state.vouched.insert(receipt.user_id);
            // The database answers: anything queued can go now.
            state.next_drain = state.since_start;
            state.draft = None;
            state.sales_done += 1;
            state.message = Some(Message::Info(if receipt.replayed {
                "this sale had already been recorded: the receipt is that purchase's".into()
            } else {
                "sale recorded".into()
            }));
            state.screen = Screen::Receipt(Box::new(receipt));
            vec![]
        }
        Err(e) => {
            tracing::warn!(%sale_key, "sale not recorded: {e}");
            if e.is_connection_problem() {
                state.db = DbState::Reconnecting(e.to_string());
            }
            state.error(explain(&e));
            if matches!(e, CheckoutError::TotalMismatch { .. }) && !state.catalog_loading {
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
        CheckoutError::Journal(reason) => format!(
            "The till could not save the sale to its journal ({reason}). It was not sent and \
             not charged. Free disk space or check the journal file, then press s to retry."
        ),
    }
}

fn key_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) => Some(c),
        _ => None,
    }
}

fn act(state: &mut State, action: Action, key: &KeyEvent) -> Vec<Effect> {
    match action {
        Action::Quit => {
            if state.submitting.is_some() {
                state.error("the sale is being written: wait for the answer before quitting");
            } else if state.screen == Screen::Sale && state.cart_is_open() {
                state.input = Input::Confirm(Question::QuitWithCart);
            } else {
                state.quit = true;
            }
            vec![]
        }
        Action::ShowHelp => {
            state.help = true;
            vec![]
        }
        Action::CloseHelp => {
            state.help = false;
            vec![]
        }
        Action::ShowRefused => {
            match (&state.journal_warning, state.refused_sales.is_empty()) {
                (Some(warning), true) => {
                    let text = warning.clone();
                    state.error(text);
                }
                (None, true) => state.info("no queued sale has been refused"),
                (_, false) => {
                    state.show_refused = true;
                    state.refused_selected =
                        state.refused_selected.min(state.refused_sales.len() - 1);
                    state.message = None;
                }
            }
            vec![]
        }
        Action::CloseRefused => {
            state.show_refused = false;
            state.set_aside = None;
            vec![]
        }
        Action::ResendRefused => {
            let Some(refused) = state.refused_sales.get(state.refused_selected) else {
                return vec![];
            };
            let sale_key = refused.sale.sale_key;
            state.info(format!("putting sale {sale_key} back in the queue…"));
            vec![Effect::ResendRefused(sale_key)]
        }
        Action::StartSetAside => {
            if let Some(refused) = state.refused_sales.get(state.refused_selected) {
                state.set_aside = Some(SetAsideDraft {
                    sale_key: refused.sale.sale_key,
                    reason: String::new(),
                });
                state.info("type why this sale is not sent, then Enter (Esc cancels)");
            }
            vec![]
        }
        Action::ReasonChar | Action::ReasonBackspace => {
            let text = match (action, key_char(key)) {
                (Action::ReasonChar, Some(c)) => c.to_string(),
                _ => String::new(),
            };
            edit_reason(state, &text);
            vec![]
        }
        Action::ConfirmSetAside => {
            let Some(draft) = state.set_aside.take() else {
                return vec![];
            };
            let reason = draft.reason.trim().to_string();
            if reason.is_empty() {
                state.error("type why this sale is not sent (Esc cancels)");
                state.set_aside = Some(draft);
                return vec![];
            }
            state.info(format!("setting sale {} aside…", draft.sale_key));
            vec![Effect::SetAsideRefused {
                sale_key: draft.sale_key,
                reason,
            }]
        }
        Action::CancelSetAside => {
            state.set_aside = None;
            state.message = None;
            vec![]
        }
        Action::Up | Action::Down => {
            move_cursor(state, action == Action::Up);
            vec![]
        }
        Action::ChooseBranch => {
            choose_branch(state, state.branch_cursor);
            vec![]
        }
        Action::BranchByNumber => {
            if let Some(n) = key_char(key).and_then(|c| c.to_digit(10))
                && n >= 1
            {
                choose_branch(state, n as usize - 1);
            }
            vec![]
        }
        Action::CodeDigit => {
            if let (Input::Code(code), Some(c)) = (&mut state.input, key_char(key)) {
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
            if let Input::Code(code) = &mut state.input {
                code.pop();
            }
            vec![]
        }
        Action::ClearCode => {
            state.input = Input::Code(String::new());
            state.message = None;
            vec![]
        }
        Action::AddCode => {
            let code = match &mut state.input {
                Input::Code(code) => std::mem::take(code),
                _ => return vec![],
            };
            if code.is_empty() {
                state.info("type a product code (or scan it), then Enter");
                return vec![];
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
        Action::QuickKey => {
            if let KeyCode::F(n) = key.code {
                let id = state
                    .catalog
                    .as_ref()
                    .and_then(|c| c.products.get(n as usize - 1))
                    .map(|p| p.id);
                match id {
                    Some(id) => add_product(state, id),
                    None => state.error(format!("no product on F{n}")),
                }
            }
            vec![]
        }
        Action::NewCustomer => {
            if let Some(draft) = &mut state.draft {
                let choice = CustomerChoice::new_customer();
                draft.customer = Some(choice);
                state.info(format!("new customer {}", choice.user_id()));
            }
            vec![]
        }
        Action::FindCustomer => {
            let offline = state.is_offline();
            state.input = Input::CustomerSearch {
                query: String::new(),
                selected: 0,
                seq: 0,
                results: vec![],
                searching: false,
                offline,
            };
            if offline {
                state.error(OFFLINE_SEARCH);
            } else {
                state.info("type the first characters of the customer id");
            }
            vec![]
        }
        Action::FindProduct => {
            state.input = Input::ProductSearch {
                query: String::new(),
                selected: 0,
            };
            state.message = None;
            vec![]
        }
        Action::RemoveSelected => {
            let Some(draft) = &mut state.draft else {
                return vec![];
            };
            if draft.sale.product_ids.is_empty() {
                state.info("the cart is empty");
                return vec![];
            }
            let index = draft.selected.min(draft.sale.product_ids.len() - 1);
            remove_line(state, index);
            vec![]
        }
        Action::RemoveLast => {
            let Some(draft) = &state.draft else {
                return vec![];
            };
            match draft.lines().len() {
                0 => state.info("the cart is empty"),
                n => remove_line(state, n - 1),
            }
            vec![]
        }
        Action::ClearCart => {
            if state.draft.as_ref().is_some_and(|d| d.lines().is_empty()) {
                state.info("the cart is empty");
            } else {
                state.input = Input::Confirm(Question::ClearCart);
            }
            vec![]
        }
        Action::ChangeBranch => {
            if state.cart_is_open() {
                state.error("finish or clear this sale before changing branch");
            } else {
                state.screen = Screen::Branch;
                state.draft = None;
                state.message = None;
            }
            vec![]
        }
        Action::Submit => submit(state),
        Action::TypeChar => type_char(state, key_char(key)),
        Action::DeleteChar => type_char(state, None),
        Action::PickResult => {
            pick_result(state);
            vec![]
        }
        Action::CancelSearch => {
            state.input = Input::Code(String::new());
            state.message = None;
            vec![]
        }
        Action::Yes | Action::No => {
            let Input::Confirm(question) = state.input else {
                return vec![];
            };
            state.input = Input::Code(String::new());
            match (action, question) {
                (Action::Yes, Question::ClearCart) => {
                    if let Some(draft) = &mut state.draft {
                        draft.sale.product_ids.clear();
                        draft.selected = 0;
                    }
                    state.info("cart cleared");
                }
                (Action::Yes, Question::QuitWithCart) => state.quit = true,
                _ => state.message = None,
            }
            vec![]
        }
        Action::NextSale => {
            if let Some(branch) = state.branch.clone() {
                state.draft = Some(Draft::open(&branch));
                state.screen = Screen::Sale;
                state.input = Input::Code(String::new());
                state.message = Some(Message::Info("next sale".into()));
                // A scanner may already be typing the next sale's first code.
                if let Some(c) = key_char(key).filter(char::is_ascii_digit) {
                    state.input = Input::Code(c.to_string());
                }
            }
            vec![]
        }
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
        None if state.catalog.is_none() => {
            state.error("the catalog is not loaded yet: waiting for the database")
        }
        None => state.error(format!("there is no branch number {}", index + 1)),
    }
}

fn move_cursor(state: &mut State, up: bool) {
    let step = |value: &mut usize, len: usize| {
        if len == 0 {
            *value = 0;
        } else if up {
            *value = value.saturating_sub(1);
        } else {
            *value = (*value + 1).min(len - 1);
        }
    };
    match state.mode() {
        Mode::Branch => {
            let len = state.catalog.as_ref().map_or(0, |c| c.branches.len());
            step(&mut state.branch_cursor, len);
        }
        Mode::Sale => {
            if let Some(draft) = &mut state.draft {
                let len = draft.lines().len();
                step(&mut draft.selected, len);
            }
        }
        Mode::ProductSearch => {
            let len = match &state.input {
                Input::ProductSearch { query, .. } => state.product_matches(query).len(),
                _ => 0,
            };
            if let Input::ProductSearch { selected, .. } = &mut state.input {
                step(selected, len);
            }
        }
        Mode::CustomerSearch => {
            let offline_len = match &state.input {
                Input::CustomerSearch {
                    query,
                    offline: true,
                    ..
                } => Some(state.vouched_matches(query).len()),
                _ => None,
            };
            if let Input::CustomerSearch {
                selected, results, ..
            } = &mut state.input
            {
                step(selected, offline_len.unwrap_or(results.len()));
            }
        }
        Mode::Refused => {
            let len = state.refused_sales.len();
            step(&mut state.refused_selected, len);
        }
        _ => {}
    }
}

fn add_product(state: &mut State, id: i32) {
    let Some(product) = state.product(id).cloned() else {
        return;
    };
    let Some(draft) = &mut state.draft else {
        return;
    };
    if draft.lines().contains(&id) {
        state.error(format!(
            "{} is already in the cart (one unit per product)",
            product.name
        ));
        return;
    }
    draft.sale.product_ids.push(id);
    draft.selected = draft.sale.product_ids.len() - 1;
    state.info(format!("added {} {}", product.name, product.unit_price));
}

fn remove_line(state: &mut State, index: usize) {
    let Some(draft) = &mut state.draft else {
        return;
    };
    let id = draft.sale.product_ids.remove(index);
    let len = draft.sale.product_ids.len();
    draft.selected = draft.selected.min(len.saturating_sub(1));
    let name = state
        .product(id)
        .map_or_else(|| format!("product {id}"), |p| p.name.clone());
    state.info(format!("removed {name}"));
}

/// Types `text` into the search box (None: erases a character). Control characters are
/// dropped and the box holds at most `MAX_SEARCH_LEN` characters; what is cut is said.
fn type_char(state: &mut State, c: Option<char>) -> Vec<Effect> {
    match c {
        Some(c) => type_text(state, &c.to_string()),
        None => type_text(state, ""),
    }
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
    let Some(draft) = &mut state.set_aside else {
        return;
    };
    match edit_text(&mut draft.reason, text, MAX_REASON_LEN, "a reason") {
        Ok(()) => state.message = None,
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
            state.info(format!(
                "sale {sale_key} is back in the queue: sending it now"
            ));
            state.drain_failures = 0;
            state.next_drain = state.since_start;
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
    match &mut state.input {
        Input::ProductSearch { query, selected } => {
            let before = query.clone();
            let result = edit_query(query, text);
            *selected = 0;
            if let Err(e) = result {
                state.error(e);
            } else if before != *query {
                state.message = None;
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
                Ok(()) => state.message = None,
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
            let Input::Code(code) = &mut state.input else {
                return vec![];
            };
            if !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit())
                && code.len() + digits.len() <= MAX_CODE_LEN
            {
                code.push_str(digits);
                state.message = None;
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
    match std::mem::replace(&mut state.input, Input::Code(String::new())) {
        Input::ProductSearch { query, selected } => {
            let id = state.product_matches(&query).get(selected).map(|p| p.id);
            match id {
                Some(id) => add_product(state, id),
                None => {
                    state.error(format!("no product name contains {query:?}"));
                    state.input = Input::ProductSearch { query, selected };
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
                    if let Some(draft) = &mut state.draft {
                        draft.customer = Some(CustomerChoice::Returning(id));
                    }
                    state.info(format!("returning customer {id} ({detail})"));
                }
                None => {
                    state.error(
                        "no customer chosen: keep typing the id, or Esc and n for a new one",
                    );
                    state.input = Input::CustomerSearch {
                        query,
                        selected,
                        seq,
                        results,
                        searching,
                        offline,
                    };
                }
            }
        }
        other => state.input = other,
    }
}

fn submit(state: &mut State) -> Vec<Effect> {
    if state.submitting.is_some() {
        return vec![];
    }
    let Some(draft) = &state.draft else {
        return vec![];
    };
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
    if let Some(missing) = draft
        .lines()
        .iter()
        .find(|id| state.product(**id).is_none())
    {
        state.error(format!(
            "product {missing} is no longer sold: remove it (x) before submitting"
        ));
        return vec![];
    }
    let mut sale = draft.sale.clone();
    sale.customer = customer;
    sale.expected_total = Some(state.total());
    state.submitting = Some(sale.sale_key);
    state.input = Input::Code(String::new());
    state.info("writing the sale…");
    vec![Effect::Submit(Box::new(sale))]
}
