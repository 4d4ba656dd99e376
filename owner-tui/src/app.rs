//! The dashboard as a pure state machine: `update(&mut State, Msg) -> Vec<Effect>`.
//!
//! Time comes in with `Msg::Tick` (a monotonic instant as a `Duration` since start, and the wall
//! clock), so the refresh scheduling (`crate::refresh`) is deterministic and testable without
//! sleeping. The screen is redrawn only when something drawn changed (`State::draws_like`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use store_core::domain::analytics::{
    CustomerDetail, Dashboard, Filter, Insights, LoyalBuyer, Period, StandbyLag, TopProduct,
    TrendBucket, TrendPoint,
};
use store_core::domain::time_zone::Tz;
use uuid::Uuid;

use crate::keymap::{Action, Mode};
use crate::refresh::RefreshSchedule;

/// Rows per loyal-buyers page fetched from the database.
pub const LOYAL_PAGE: usize = 50;
/// Pages of loyal buyers kept around the visible rows (the rest are dropped).
const PAGES_KEPT_AROUND: usize = 2;
/// The insights cost the database far more than the dashboard (about half a second for 30
/// days at 2M purchases): a refresh reads them again at most this often, and the figures
/// between keep the last ones (`r` reads them at once).
pub const INSIGHTS_EVERY: Duration = Duration::from_secs(10);
/// A customer's newest visits fetched for the drill-down.
pub const CUSTOMER_VISITS: i64 = 200;

pub use crate::refresh::{MAX_NOTICE_DELAY, MIN_REFRESH_GAP, TRAILING, WAITING_AFTER};

#[derive(Clone, Debug)]
pub struct Settings {
    pub refresh_every: Duration,
    pub export_dir: PathBuf,
    /// The chain's time zone (the `timezone` setting): "today", the chart's days and hours,
    /// "updated HH:MM:SS" and the export files' names. Injected, so tests need not depend on
    /// the machine's zone.
    pub zone: Tz,
}

impl Settings {
    /// `at` on the chain's clock.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        at.with_timezone(&self.zone)
    }
}

/// One refresh's answer: the dashboard, the sales trend and the insights for the same filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub dashboard: Dashboard,
    pub trend: Vec<TrendPoint>,
    pub bucket: TrendBucket,
    /// Read from a hot standby this far behind the primary; None on the primary.
    pub standby: Option<StandbyLag>,
    /// The views other than the overview (and the overview's comparisons); None when not read.
    pub insights: Option<Insights>,
}

/// What the body of the screen shows; `Tab` and `Shift-Tab` go round them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum View {
    /// The three iCash answers, revenue per branch and the sales chart.
    #[default]
    Overview,
    /// Every figure of the period against the period before, baskets included.
    Summary,
    Products,
    /// Sales by hour of day and weekday.
    Hours,
    Tills,
    Cashiers,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Overview,
        View::Summary,
        View::Products,
        View::Hours,
        View::Tills,
        View::Cashiers,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Summary => "Summary",
            View::Products => "Products",
            View::Hours => "Hours",
            View::Tills => "Tills",
            View::Cashiers => "Cashiers",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    pub fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }

    pub fn previous(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

/// A table view's first visible row, per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableTops {
    pub products: usize,
    pub tills: usize,
    pub cashiers: usize,
}

/// One customer's detail, opened with Enter from the loyal list.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerView {
    pub user_id: Uuid,
    /// Which answer of `Effect::LoadCustomer` is awaited.
    pub request: u64,
    pub load: CustomerLoad,
    /// The first visible visit.
    pub top: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CustomerLoad {
    /// Being read; the detail shown before (on `r`), if any.
    Loading {
        shown: Option<Box<CustomerDetail>>,
    },
    Loaded(Box<CustomerDetail>),
    /// No purchase has this customer (any more).
    Unknown,
    Failed(String),
}

impl CustomerLoad {
    pub fn detail(&self) -> Option<&CustomerDetail> {
        match self {
            CustomerLoad::Loaded(detail) => Some(detail),
            CustomerLoad::Loading { shown } => shown.as_deref(),
            CustomerLoad::Unknown | CustomerLoad::Failed(_) => None,
        }
    }
}

/// Which date of the range is being typed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RangeField {
    #[default]
    From,
    To,
}

/// The date range popup (`d`): two dates typed as YYYY-MM-DD, and why the last attempt was
/// refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeInput {
    pub from: String,
    pub to: String,
    pub field: RangeField,
    pub error: Option<String>,
}

/// Longest date typed: YYYY-MM-DD and a little room for a slip.
const DATE_MAX: usize = 12;

impl RangeInput {
    fn field_mut(&mut self) -> &mut String {
        match self.field {
            RangeField::From => &mut self.from,
            RangeField::To => &mut self.to,
        }
    }
}

/// A table written to CSV: its file name and its rows, the heading first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableExport {
    pub dir: PathBuf,
    pub file_name: String,
    pub rows: Vec<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableExported {
    pub file: PathBuf,
    /// Rows under the heading.
    pub rows: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportDone {
    pub loyal_file: PathBuf,
    pub loyal_rows: u64,
    pub top_file: PathBuf,
    pub top_rows: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    Tick {
        now: Duration,
        wall: DateTime<Utc>,
    },
    Action(Action),
    Resize {
        width: u16,
        height: u16,
    },
    /// The store is ready (connected, schema checked).
    Connected {
        description: String,
    },
    /// Connecting failed; the connector tries again by itself.
    ConnectFailed {
        error: String,
    },
    /// A notice on a database channel.
    Notice {
        channel: String,
    },
    /// The listening connection was lost: notices are missed until it is back (a notice on
    /// `store_core::db::live::LISTENING` says so).
    ListenerLost {
        error: String,
    },
    Refreshed {
        id: u64,
        result: Result<Box<Snapshot>, String>,
    },
    LoyalPage {
        generation: u64,
        page: usize,
        result: Result<Vec<LoyalBuyer>, String>,
    },
    /// The branches, each with its own time zone if it has one.
    Branches(Result<Vec<(String, Option<Tz>)>, String>),
    Exported(Result<ExportDone, String>),
    /// A customer's detail (None: no purchase has that customer).
    Customer {
        request: u64,
        result: Result<Option<CustomerDetail>, String>,
    },
    TableExported(Result<TableExported, String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExportRequest {
    pub dir: PathBuf,
    pub filter: Filter,
    pub min_purchases: i32,
    pub top_products: Vec<TopProduct>,
    /// For the file names: `YYYYmmdd-HHMMSS`.
    pub stamp: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Refresh {
        id: u64,
        filter: Filter,
        min_purchases: i32,
        page_size: i64,
        bucket: TrendBucket,
        /// Read the insights too (see `State::needs_insights`).
        insights: bool,
    },
    LoadLoyalPage {
        generation: u64,
        page: usize,
        filter: Filter,
        min_purchases: i32,
        offset: i64,
        limit: i64,
    },
    LoadBranches,
    Export(ExportRequest),
    LoadCustomer {
        request: u64,
        user_id: Uuid,
        limit: i64,
    },
    ExportTable(TableExport),
    Quit,
}

/// The dashboard's link to the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Not connected yet (the connector retries by itself); why the last attempt failed.
    Connecting { last_error: Option<String> },
    /// The store is ready; where it is (no password).
    Connected { description: String },
}

/// Whether the figures on screen follow the database.
#[derive(Clone, Debug, PartialEq)]
pub enum Freeze {
    Live,
    /// Held by the owner; a result that arrived meanwhile, applied on unfreeze.
    Frozen {
        held: Option<Box<Snapshot>>,
    },
}

/// The help overlay, open, scrolled down by `scroll` lines (when it does not fit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Help {
    pub scroll: usize,
}

/// The line of news under the header. Those tied to a condition go away as soon as it no longer
/// holds (see `Message::still_true`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A change of selection was refused; true while frozen.
    UnfreezeFirst,
    /// `-` at a threshold of 1; true while it is 1.
    AtLeastOnePurchase,
    /// `e` before any figures; true until there are some.
    NothingToExport,
    Exporting,
    Exported {
        loyal_rows: u64,
        top_rows: usize,
        dir: String,
    },
    ExportedTable {
        rows: usize,
        file: String,
    },
    ExportFailed(String),
    /// Enter with no loyal buyer at the cursor; true while there is none.
    NoBuyerAtCursor,
}

impl Message {
    pub fn text(&self) -> String {
        match self {
            Message::UnfreezeFirst => {
                "Frozen: press f to unfreeze before changing what is shown".into()
            }
            Message::AtLeastOnePurchase => "Loyal buyers need at least 1 purchase".into(),
            Message::NothingToExport => "Nothing to export yet".into(),
            Message::Exporting => "Exporting…".into(),
            Message::Exported {
                loyal_rows,
                top_rows,
                dir,
            } => format!(
                "Exported {loyal_rows} loyal buyers + {top_rows} top products as CSV to {dir}/"
            ),
            Message::ExportedTable { rows, file } => {
                format!("Exported {rows} rows as CSV to {file}")
            }
            Message::ExportFailed(error) => format!("Export failed: {error}"),
            Message::NoBuyerAtCursor => "No loyal buyer at the cursor".into(),
        }
    }

    /// Whether what the message says is still so.
    fn still_true(&self, state: &State) -> bool {
        match self {
            Message::UnfreezeFirst => state.is_frozen(),
            Message::AtLeastOnePurchase => state.min_purchases == 1,
            Message::NothingToExport => !state.has_something_to_export(),
            Message::NoBuyerAtCursor => {
                state.view == View::Overview && state.loyal_row(state.loyal.selected).is_none()
            }
            Message::Exporting
            | Message::Exported { .. }
            | Message::ExportedTable { .. }
            | Message::ExportFailed(_) => true,
        }
    }
}

/// One page of the loyal buyers list, as fetched for the current data generation (a refresh
/// starts a new one) or for an older one (shown until replaced).
#[derive(Clone, Debug, PartialEq)]
pub enum LoyalPage {
    Current(Vec<LoyalBuyer>),
    /// Being fetched; the rows of an older generation meanwhile, if any.
    Loading {
        outdated: Option<Vec<LoyalBuyer>>,
    },
    Outdated(Vec<LoyalBuyer>),
}

impl LoyalPage {
    pub fn rows(&self) -> Option<&[LoyalBuyer]> {
        match self {
            LoyalPage::Current(rows) | LoyalPage::Outdated(rows) => Some(rows),
            LoyalPage::Loading { outdated } => outdated.as_deref(),
        }
    }

    /// A new generation began: what was current is outdated, a fetch under way is for the old
    /// generation (its answer will be ignored). None when nothing is left to show.
    fn outdated(self) -> Option<LoyalPage> {
        match self {
            LoyalPage::Current(rows) | LoyalPage::Outdated(rows) => Some(LoyalPage::Outdated(rows)),
            LoyalPage::Loading { outdated } => outdated.map(LoyalPage::Outdated),
        }
    }
}

/// The loyal buyers list, paged from the database: the first visible row, and the pages around
/// it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoyalList {
    /// Index of the first visible row in the whole sorted list.
    pub top: usize,
    /// The row at the cursor (what Enter opens): the first visible one, except in the last
    /// screenful, where the list cannot scroll further and the cursor moves down it instead.
    pub selected: usize,
    pub pages: BTreeMap<usize, LoyalPage>,
    /// Which answer of `Effect::LoadLoyalPage` is current.
    pub generation: u64,
}

#[derive(Clone, Debug)]
pub struct State {
    pub settings: Settings,
    /// Monotonic time of the last tick.
    pub now: Duration,
    /// Wall clock of the last tick.
    pub wall: Option<DateTime<Utc>>,
    /// What the owner selected (what the next refresh asks for).
    pub filter: Filter,
    pub min_purchases: i32,
    pub connection: Connection,
    /// What is on screen.
    pub shown: Option<Snapshot>,
    pub freeze: Freeze,
    /// Why the figures on screen may be out of date (the last refresh failed).
    pub stale: Option<String>,
    pub listener_error: Option<String>,
    pub message: Option<Message>,
    pub help: Option<Help>,
    pub branches: Vec<(String, Option<Tz>)>,
    pub size: (u16, u16),
    pub loyal: LoyalList,
    pub trend_bucket: TrendBucket,
    pub refresh: RefreshSchedule,
    pub view: View,
    pub tables: TableTops,
    /// The customer opened from the loyal list (shown in place of the overview).
    pub customer: Option<CustomerView>,
    /// The date range being typed.
    pub range: Option<RangeInput>,
    /// The id the next customer request gets.
    next_request: u64,
    /// Whether the last refresh started reads the insights.
    insights_asked: bool,
    /// When the last refresh that read the insights started.
    insights_started: Option<Duration>,
    /// `r` was pressed: the next refresh reads the insights whatever their age.
    insights_now: bool,
    /// Something drawn changed since the last `take_dirty`.
    redraw: bool,
}

impl State {
    pub fn new(settings: Settings, min_purchases: i32) -> State {
        let zone = settings.zone;
        State {
            settings,
            now: Duration::ZERO,
            wall: None,
            filter: Filter::everything_in(zone),
            min_purchases: min_purchases.max(1),
            connection: Connection::Connecting { last_error: None },
            shown: None,
            freeze: Freeze::Live,
            stale: None,
            listener_error: None,
            message: None,
            help: None,
            branches: Vec::new(),
            size: (80, 24),
            loyal: LoyalList::default(),
            trend_bucket: default_bucket(&Filter::default()),
            refresh: RefreshSchedule::default(),
            view: View::default(),
            tables: TableTops::default(),
            customer: None,
            range: None,
            next_request: 0,
            insights_asked: false,
            insights_started: None,
            insights_now: false,
            redraw: true,
        }
    }

    /// Which key table applies now.
    pub fn key_mode(&self) -> Mode {
        if self.range.is_some() && self.help.is_none() {
            Mode::Range
        } else {
            Mode::Dashboard
        }
    }

    /// Whether `e` would write something now: the overview's figures, or the table of the view.
    pub fn has_something_to_export(&self) -> bool {
        match (self.view, &self.customer) {
            (View::Overview, None) => self.shown.is_some(),
            _ => crate::export::table_for(self).is_some(),
        }
    }

    /// Whether the screen needs the insights: every view but the overview does, and the
    /// overview for its comparisons, which all time has none of. So the first screen, all time,
    /// costs the database no more than it did.
    pub fn needs_insights(&self) -> bool {
        self.view != View::Overview || self.filter.period != Period::AllTime
    }

    /// Whether the refresh starting now reads the insights: when the screen needs them and
    /// those shown are for another selection, or older than `INSIGHTS_EVERY`, or `r` asked.
    fn insights_due(&self) -> bool {
        if !self.needs_insights() {
            return false;
        }
        let current = self.insights().is_some_and(|i| i.filter == self.filter);
        let fresh = self
            .insights_started
            .is_some_and(|at| self.now < at + INSIGHTS_EVERY);
        self.insights_now || !current || !fresh
    }

    /// The view changed: the insights are read if it needs them and they are not here.
    fn view_changed(&mut self) {
        if self.needs_insights() && self.insights().is_none() && !self.is_frozen() {
            self.refresh.request();
        }
    }

    /// The insights on screen, if any.
    pub fn insights(&self) -> Option<&Insights> {
        self.shown.as_ref().and_then(|s| s.insights.as_ref())
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }

    pub fn is_frozen(&self) -> bool {
        matches!(self.freeze, Freeze::Frozen { .. })
    }

    /// The id of the refresh in flight, if any.
    pub fn in_flight(&self) -> Option<u64> {
        self.refresh.in_flight()
    }

    /// A refresh has been running for `WAITING_AFTER` or more: the database is slow to answer
    /// (a lock, a hung link), and the screen says so before the refresh times out.
    pub fn waiting_for_database(&self) -> bool {
        self.refresh.waiting(self.now)
    }

    /// True once after anything drawn changed: the caller redraws.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    /// Whether the screen drawn from `self` and from `other` is the same: every field the view
    /// reads is compared. The clock is not drawn, except as "waiting for the database"; the
    /// schedule is not either, except as that. The destructuring names every field, so a new
    /// field cannot be forgotten here.
    fn draws_like(&self, other: &State) -> bool {
        let State {
            settings: _,
            now: _,
            wall: _,
            refresh: _,
            redraw: _,
            next_request: _,
            insights_asked: _,
            insights_started: _,
            insights_now: _,
            filter,
            min_purchases,
            connection,
            shown,
            freeze,
            stale,
            listener_error,
            message,
            help,
            branches,
            size,
            loyal,
            trend_bucket,
            view,
            tables,
            customer,
            range,
        } = self;
        *filter == other.filter
            && *min_purchases == other.min_purchases
            && *connection == other.connection
            && *shown == other.shown
            && *freeze == other.freeze
            && *stale == other.stale
            && *listener_error == other.listener_error
            && *message == other.message
            && *help == other.help
            && *branches == other.branches
            && *size == other.size
            && *loyal == other.loyal
            && *trend_bucket == other.trend_bucket
            && *view == other.view
            && *tables == other.tables
            && *customer == other.customer
            && *range == other.range
            && self.waiting_for_database() == other.waiting_for_database()
    }

    /// The branches `b` cycles through, with their own time zones: the catalog's, or those
    /// seen in the figures (in the chain's zone: the figures do not say).
    pub fn branch_ids(&self) -> Vec<(String, Option<Tz>)> {
        if !self.branches.is_empty() {
            return self.branches.clone();
        }
        self.shown
            .as_ref()
            .map(|s| {
                s.dashboard
                    .branches
                    .iter()
                    .map(|b| (b.supermarket_id.clone(), None))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The loyal buyer at `index` in the whole sorted list, if its page is here.
    pub fn loyal_row(&self, index: usize) -> Option<&LoyalBuyer> {
        self.loyal
            .pages
            .get(&(index / LOYAL_PAGE))
            .and_then(LoyalPage::rows)
            .and_then(|rows| rows.get(index % LOYAL_PAGE))
    }

    pub fn loyal_count(&self) -> usize {
        self.shown
            .as_ref()
            .map(|s| s.dashboard.loyal_buyers.max(0) as usize)
            .unwrap_or(0)
    }

    /// Rows of the loyal buyers table that fit on screen now.
    pub fn loyal_visible(&self) -> usize {
        crate::view::loyal_visible_rows(self).max(1)
    }

    /// True when the figures on screen are for another filter than the one selected.
    pub fn loading_selection(&self) -> bool {
        match &self.shown {
            Some(s) => {
                s.dashboard.filter != self.filter || s.dashboard.min_purchases != self.min_purchases
            }
            None => true,
        }
    }

    fn start_refresh_if_due(&mut self, effects: &mut Vec<Effect>) {
        let may_start = self.is_connected() && !self.is_frozen();
        if let Some(id) = self.refresh.start(self.now, may_start) {
            self.insights_asked = self.insights_due();
            if self.insights_asked {
                self.insights_started = Some(self.now);
                self.insights_now = false;
            }
            effects.push(Effect::Refresh {
                id,
                filter: self.filter.clone(),
                min_purchases: self.min_purchases,
                page_size: LOYAL_PAGE as i64,
                bucket: self.trend_bucket,
                insights: self.insights_asked,
            });
        }
    }

    fn apply(&mut self, mut snapshot: Snapshot, effects: &mut Vec<Effect>) {
        // A refresh without the insights keeps those shown, if they are for the same filter.
        if snapshot.insights.is_none()
            && let Some(held) = self.shown.as_mut().and_then(|s| s.insights.take())
            && held.filter == snapshot.dashboard.filter
        {
            snapshot.insights = Some(held);
        }
        let first = snapshot.dashboard.loyal_page.clone();
        self.shown = Some(snapshot);
        let loyal = &mut self.loyal;
        loyal.generation += 1;
        loyal.pages = std::mem::take(&mut loyal.pages)
            .into_iter()
            .filter_map(|(index, page)| Some((index, page.outdated()?)))
            .collect();
        loyal.pages.insert(0, LoyalPage::Current(first));
        let count = self.loyal_count();
        if self.loyal.top >= count {
            self.loyal.top = count.saturating_sub(1);
        }
        self.loyal.selected = self.loyal.selected.min(count.saturating_sub(1));
        self.clamp_tables();
        self.ensure_loyal_pages(effects);
    }

    /// Fetches the pages the visible rows need (and the next one), drops far-away pages.
    fn ensure_loyal_pages(&mut self, effects: &mut Vec<Effect>) {
        let Some(shown) = &self.shown else { return };
        let count = self.loyal_count();
        let filter = shown.dashboard.filter.clone();
        let min = shown.dashboard.min_purchases;
        if count == 0 {
            self.loyal.pages.retain(|p, _| *p == 0);
            return;
        }
        let first = self.loyal.top / LOYAL_PAGE;
        let last_row = (self.loyal.top + self.loyal_visible()).min(count) - 1;
        let last = last_row / LOYAL_PAGE;
        let generation = self.loyal.generation;
        for index in first..=last {
            let page = self.loyal.pages.remove(&index);
            let page = match page {
                Some(page @ (LoyalPage::Current(_) | LoyalPage::Loading { .. })) => page,
                fetch @ (Some(LoyalPage::Outdated(_)) | None) => {
                    effects.push(Effect::LoadLoyalPage {
                        generation,
                        page: index,
                        filter: filter.clone(),
                        min_purchases: min,
                        offset: (index * LOYAL_PAGE) as i64,
                        limit: LOYAL_PAGE as i64,
                    });
                    LoyalPage::Loading {
                        outdated: fetch.and_then(|p| p.rows().map(<[LoyalBuyer]>::to_vec)),
                    }
                }
            };
            self.loyal.pages.insert(index, page);
        }
        let keep_from = first.saturating_sub(PAGES_KEPT_AROUND);
        let keep_to = last + PAGES_KEPT_AROUND;
        self.loyal
            .pages
            .retain(|p, _| (keep_from..=keep_to).contains(p));
    }

    /// Puts the cursor on row `selected` (within the list); the list scrolls to show it at the
    /// top, as far as it can.
    fn select_loyal(&mut self, selected: usize, effects: &mut Vec<Effect>) {
        let count = self.loyal_count();
        let max_top = count.saturating_sub(self.loyal_visible());
        self.loyal.selected = selected.min(count.saturating_sub(1));
        self.loyal.top = self.loyal.selected.min(max_top);
        self.ensure_loyal_pages(effects);
    }

    /// The cursor's row after the size changed: the list scrolls as far as it now may.
    fn keep_loyal_in_view(&mut self, effects: &mut Vec<Effect>) {
        let count = self.loyal_count();
        let max_top = count.saturating_sub(self.loyal_visible());
        self.loyal.top = self.loyal.selected.min(max_top);
        self.ensure_loyal_pages(effects);
    }

    /// The rows of the table `view` scrolls, and how many of them fit.
    fn table_rows(&self, view: View) -> (usize, usize) {
        let visible = crate::view::table_visible_rows_in(self, view).max(1);
        let count = match (&self.customer, view) {
            (Some(c), View::Overview) => c.load.detail().map(|d| d.visits.len()).unwrap_or(0),
            (None, View::Overview) => self.loyal_count(),
            (_, view) => self
                .insights()
                .map(|i| match view {
                    View::Products => i.products.len(),
                    View::Tills => i.tills.len(),
                    View::Cashiers => i.cashiers.len(),
                    View::Overview | View::Summary | View::Hours => 0,
                })
                .unwrap_or(0),
        };
        (count, visible)
    }

    /// The first visible row of `view`'s table, if it has one that scrolls.
    fn table_top_mut(&mut self, view: View) -> Option<&mut usize> {
        match (view, &mut self.customer) {
            (View::Overview, Some(customer)) => Some(&mut customer.top),
            (View::Products, _) => Some(&mut self.tables.products),
            (View::Tills, _) => Some(&mut self.tables.tills),
            (View::Cashiers, _) => Some(&mut self.tables.cashiers),
            (View::Overview | View::Summary | View::Hours, _) => None,
        }
    }

    /// Keeps every table's first row within its rows (after new figures or a resize).
    fn clamp_tables(&mut self) {
        for view in [View::Overview, View::Products, View::Tills, View::Cashiers] {
            let (count, visible) = self.table_rows(view);
            if let Some(top) = self.table_top_mut(view) {
                *top = (*top).min(count.saturating_sub(visible));
            }
        }
    }

    /// Scrolls whatever the view shows as a list: the loyal buyers (by the cursor), or a table.
    fn scroll(&mut self, action: Action, effects: &mut Vec<Effect>) {
        let view = self.view;
        let (count, visible) = self.table_rows(view);
        if self.view == View::Overview && self.customer.is_none() {
            let at = self.loyal.selected;
            let to = match action {
                Action::ScrollUp => at.saturating_sub(1),
                Action::ScrollDown => at + 1,
                Action::PageUp => at.saturating_sub(visible),
                Action::PageDown => at + visible,
                Action::Top => 0,
                _ => usize::MAX,
            };
            self.select_loyal(to, effects);
            return;
        }
        let max_top = count.saturating_sub(visible);
        if let Some(top) = self.table_top_mut(view) {
            let to = match action {
                Action::ScrollUp => top.saturating_sub(1),
                Action::ScrollDown => *top + 1,
                Action::PageUp => top.saturating_sub(visible),
                Action::PageDown => *top + visible,
                Action::Top => 0,
                _ => max_top,
            };
            *top = to.min(max_top);
        }
    }

    /// Enter: the loyal buyer at the cursor, in detail.
    fn open_customer(&mut self, effects: &mut Vec<Effect>) {
        if self.view != View::Overview || self.customer.is_some() {
            return;
        }
        match self.loyal_row(self.loyal.selected) {
            Some(buyer) => {
                let user_id = buyer.user_id;
                self.customer = Some(CustomerView {
                    user_id,
                    request: 0,
                    load: CustomerLoad::Loading { shown: None },
                    top: 0,
                });
                self.load_customer(effects);
            }
            None => self.message = Some(Message::NoBuyerAtCursor),
        }
    }

    /// Asks for the open customer's detail (again), keeping what is shown meanwhile.
    fn load_customer(&mut self, effects: &mut Vec<Effect>) {
        let request = self.next_request;
        let Some(customer) = &mut self.customer else {
            return;
        };
        self.next_request += 1;
        customer.request = request;
        let shown = customer.load.detail().cloned().map(Box::new);
        customer.load = CustomerLoad::Loading { shown };
        effects.push(Effect::LoadCustomer {
            request,
            user_id: customer.user_id,
            limit: CUSTOMER_VISITS,
        });
    }

    /// A key while the date range popup is open.
    fn on_range_action(&mut self, action: Action, effects: &mut Vec<Effect>) {
        let Some(range) = &mut self.range else { return };
        match action {
            Action::Quit => effects.push(Effect::Quit),
            Action::CloseOverlay => self.range = None,
            Action::Type(c) => {
                let field = range.field_mut();
                if field.chars().count() < DATE_MAX {
                    field.push(c);
                }
                range.error = None;
            }
            Action::DeleteChar => {
                range.field_mut().pop();
                range.error = None;
            }
            Action::NextField => {
                range.field = match range.field {
                    RangeField::From => RangeField::To,
                    RangeField::To => RangeField::From,
                };
            }
            Action::ApplyRange => match Period::parse_range(&range.from, &range.to) {
                Ok(period) => {
                    self.range = None;
                    self.filter.period = period;
                    self.selection_changed();
                }
                Err(error) => range.error = Some(error),
            },
            _ => {}
        }
    }

    /// `d`: the popup, filled with the dates the current period covers.
    fn open_range(&mut self) {
        let dates = self
            .wall
            .and_then(|now| self.filter.period.dates(now, self.filter.zone));
        let (from, to) = dates
            .map(|(from, to)| (from.to_string(), to.to_string()))
            .unwrap_or_default();
        self.range = Some(RangeInput {
            from,
            to,
            field: RangeField::From,
            error: None,
        });
    }

    fn export_table(&mut self, effects: &mut Vec<Effect>) {
        let wall = self.wall;
        match crate::export::table_for(self) {
            Some((what, rows)) => {
                let stamp = self
                    .settings
                    .local(wall.unwrap_or_default())
                    .format("%Y%m%d-%H%M%S")
                    .to_string();
                let filter = self
                    .insights()
                    .map(|i| i.filter.clone())
                    .unwrap_or_else(|| self.filter.clone());
                let file_name = match what {
                    crate::export::Table::Visits(user) => format!("customer_{user}_{stamp}.csv"),
                    crate::export::Table::Named(name) => {
                        crate::export::file_name(name, &filter, &stamp)
                    }
                };
                effects.push(Effect::ExportTable(TableExport {
                    dir: self.settings.export_dir.clone(),
                    file_name,
                    rows,
                }));
                self.message = Some(Message::Exporting);
            }
            None => self.message = Some(Message::NothingToExport),
        }
    }

    /// A new selection (filter or threshold): ask for it, and start over at the top.
    fn selection_changed(&mut self) {
        self.loyal.top = 0;
        self.loyal.selected = 0;
        self.tables = TableTops::default();
        self.trend_bucket = default_bucket(&self.filter);
        self.refresh.request();
    }

    fn refuse_while_frozen(&mut self) -> bool {
        let frozen = self.is_frozen();
        if frozen {
            self.message = Some(Message::UnfreezeFirst);
        }
        frozen
    }

    /// A key while the help is open: it scrolls the help if that does not fit, Esc and `?`
    /// close it, `q` quits, any other key closes it.
    fn on_help_action(&mut self, help: Help, action: Action, effects: &mut Vec<Effect>) {
        let max_scroll = crate::view::help_max_scroll(self);
        let page = crate::view::help_visible_rows(self).max(1);
        let scroll = match action {
            Action::Quit => {
                effects.push(Effect::Quit);
                return;
            }
            _ if max_scroll == 0 => None,
            Action::ScrollUp => Some(help.scroll.saturating_sub(1)),
            Action::ScrollDown => Some(help.scroll + 1),
            Action::PageUp => Some(help.scroll.saturating_sub(page)),
            Action::PageDown => Some(help.scroll + page),
            Action::Top => Some(0),
            Action::Bottom => Some(max_scroll),
            _ => None,
        };
        self.help = scroll.map(|scroll| Help {
            scroll: scroll.min(max_scroll),
        });
    }

    fn on_action(&mut self, action: Action, effects: &mut Vec<Effect>) {
        if let Some(help) = self.help {
            self.on_help_action(help, action, effects);
            return;
        }
        if self.range.is_some() {
            self.on_range_action(action, effects);
            return;
        }
        match action {
            Action::Quit => effects.push(Effect::Quit),
            Action::Help => self.help = Some(Help::default()),
            Action::CloseOverlay => {
                if self.view == View::Overview {
                    self.customer = None;
                }
            }
            Action::Refresh => {
                if self.view == View::Overview && self.customer.is_some() {
                    self.load_customer(effects);
                }
                if !self.refuse_while_frozen() {
                    self.refresh.request();
                    self.insights_now = true;
                    self.message = None;
                }
            }
            Action::NextView => {
                self.view = self.view.next();
                self.view_changed();
            }
            Action::PreviousView => {
                self.view = self.view.previous();
                self.view_changed();
            }
            Action::Open => self.open_customer(effects),
            Action::TypeRange => {
                if !self.refuse_while_frozen() {
                    self.open_range();
                }
            }
            // Only bound while a range is typed.
            Action::Type(_) | Action::NextField | Action::DeleteChar | Action::ApplyRange => {}
            Action::Freeze => {
                self.message = None;
                match std::mem::replace(&mut self.freeze, Freeze::Live) {
                    Freeze::Live => self.freeze = Freeze::Frozen { held: None },
                    Freeze::Frozen { held } => {
                        if let Some(held) = held {
                            self.apply(*held, effects);
                        }
                        self.refresh.request();
                    }
                }
            }
            Action::CycleBranch => {
                if self.refuse_while_frozen() {
                    return;
                }
                let ids = self.branch_ids();
                let next = match &self.filter.supermarket_id {
                    None => ids.first().cloned(),
                    Some(current) => {
                        let i = ids.iter().position(|(b, _)| b == current);
                        i.and_then(|i| ids.get(i + 1)).cloned()
                    }
                };
                // A branch with a time zone of its own is seen in its days.
                self.filter.zone = next
                    .as_ref()
                    .and_then(|(_, zone)| *zone)
                    .unwrap_or(self.settings.zone);
                self.filter.supermarket_id = next.map(|(id, _)| id);
                self.selection_changed();
            }
            Action::CyclePeriod => {
                if self.refuse_while_frozen() {
                    return;
                }
                self.filter.period = self.filter.period.next();
                self.selection_changed();
            }
            Action::MoreMinPurchases => {
                if self.refuse_while_frozen() {
                    return;
                }
                self.min_purchases = self.min_purchases.saturating_add(1);
                self.selection_changed();
            }
            Action::LessMinPurchases => {
                if self.refuse_while_frozen() {
                    return;
                }
                if self.min_purchases > 1 {
                    self.min_purchases -= 1;
                    self.selection_changed();
                } else {
                    self.message = Some(Message::AtLeastOnePurchase);
                }
            }
            Action::Export if self.view != View::Overview || self.customer.is_some() => {
                self.export_table(effects)
            }
            Action::Export => match &self.shown {
                Some(s) => {
                    let d = &s.dashboard;
                    let stamp = self
                        .settings
                        .local(self.wall.unwrap_or(d.generated_at))
                        .format("%Y%m%d-%H%M%S")
                        .to_string();
                    effects.push(Effect::Export(ExportRequest {
                        dir: self.settings.export_dir.clone(),
                        filter: d.filter.clone(),
                        min_purchases: d.min_purchases,
                        top_products: d.top_products.clone(),
                        stamp,
                    }));
                    self.message = Some(Message::Exporting);
                }
                None => self.message = Some(Message::NothingToExport),
            },
            Action::ScrollUp
            | Action::ScrollDown
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.scroll(action, effects),
        }
    }
}

/// Hours for a day's figures, days for anything longer (adjusted to the data's range later).
pub fn default_bucket(filter: &Filter) -> TrendBucket {
    match filter.period {
        Period::Today | Period::Yesterday => TrendBucket::Hour,
        Period::Range { from, to } if from == to => TrendBucket::Hour,
        _ => TrendBucket::Day,
    }
}

/// The bucket that suits the data's range: days when it spans more than 3 days.
pub fn bucket_for_range(points: &[TrendPoint]) -> TrendBucket {
    match (points.first(), points.last()) {
        (Some(a), Some(b)) if b.bucket_start - a.bucket_start > chrono::Duration::days(3) => {
            TrendBucket::Day
        }
        _ => TrendBucket::Hour,
    }
}

/// Applies `msg`: the pure state machine. The screen is to be redrawn (`take_dirty`) when
/// anything drawn differs afterwards.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let before = state.clone();
    let effects = step(state, msg);
    if let Some(message) = &state.message
        && !message.still_true(state)
    {
        state.message = None;
    }
    if !state.draws_like(&before) {
        state.redraw = true;
    }
    effects
}

fn step(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    match msg {
        Msg::Tick { now, wall } => {
            state.now = now;
            state.wall = Some(wall);
            state.refresh.tick(now, state.settings.refresh_every);
        }
        Msg::Action(action) => state.on_action(action, &mut effects),
        Msg::Resize { width, height } => {
            state.size = (width, height);
            let max_scroll = crate::view::help_max_scroll(state);
            if let Some(help) = &mut state.help {
                help.scroll = help.scroll.min(max_scroll);
            }
            state.keep_loyal_in_view(&mut effects);
            state.clamp_tables();
        }
        Msg::Connected { description } => {
            state.connection = Connection::Connected { description };
            state.refresh.request();
            effects.push(Effect::LoadBranches);
        }
        Msg::ConnectFailed { error } => {
            if let Connection::Connecting { last_error } = &mut state.connection {
                *last_error = Some(error);
            }
        }
        Msg::Notice { channel } => {
            if channel == store_core::db::live::LISTENING {
                // From now on no sale goes unannounced; one refresh covers those made while
                // the listener was away (or before it first started).
                state.listener_error = None;
                state.refresh.request();
            } else if channel == store_core::db::live::CATALOG_CHANNEL {
                effects.push(Effect::LoadBranches);
                state.refresh.request();
            } else {
                state.refresh.notice(state.now);
            }
        }
        Msg::ListenerLost { error } => {
            state.listener_error = Some(error);
            // Find out at once whether the database itself is gone.
            state.refresh.request();
        }
        Msg::Refreshed { id, result } => {
            state.refresh.answered(id, result.is_ok(), state.now);
            match result {
                Ok(snapshot) => {
                    state.stale = None;
                    let snapshot = *snapshot;
                    let current = snapshot.dashboard.filter == state.filter
                        && snapshot.dashboard.min_purchases == state.min_purchases;
                    if current {
                        // Hourly bars for short ranges, daily for long ones.
                        let suits = bucket_for_range(&snapshot.trend);
                        if snapshot.bucket != suits && !snapshot.trend.is_empty() {
                            state.trend_bucket = suits;
                            state.refresh.request();
                        }
                        if let Freeze::Frozen { held } = &mut state.freeze {
                            *held = Some(Box::new(snapshot));
                        } else {
                            state.apply(snapshot, &mut effects);
                            // Asked for before the view needed them: once more with them.
                            if !state.insights_asked {
                                state.view_changed();
                            }
                        }
                    }
                }
                Err(error) => state.stale = Some(error),
            }
        }
        Msg::LoyalPage {
            generation,
            page,
            result,
        } => {
            if generation == state.loyal.generation {
                match result {
                    Ok(rows) => {
                        state.loyal.pages.insert(page, LoyalPage::Current(rows));
                    }
                    Err(error) => {
                        // Shown as it was (or not at all); fetched again when next needed.
                        if let Some(LoyalPage::Loading { outdated }) =
                            state.loyal.pages.remove(&page)
                            && let Some(rows) = outdated
                        {
                            state.loyal.pages.insert(page, LoyalPage::Outdated(rows));
                        }
                        state.stale = Some(error);
                        state.refresh.failed(state.now);
                    }
                }
            }
        }
        Msg::Branches(result) => match result {
            Ok(ids) => state.branches = ids,
            Err(error) => tracing::warn!("loading branches: {error}"),
        },
        Msg::Exported(result) => {
            state.message = Some(match result {
                Ok(done) => {
                    tracing::info!(
                        "exported {} and {}",
                        done.loyal_file.display(),
                        done.top_file.display()
                    );
                    let dir = done
                        .loyal_file
                        .parent()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default();
                    Message::Exported {
                        loyal_rows: done.loyal_rows,
                        top_rows: done.top_rows,
                        dir,
                    }
                }
                Err(error) => Message::ExportFailed(error),
            });
        }
        Msg::TableExported(result) => {
            state.message = Some(match result {
                Ok(done) => {
                    tracing::info!("exported {}", done.file.display());
                    Message::ExportedTable {
                        rows: done.rows,
                        file: done.file.display().to_string(),
                    }
                }
                Err(error) => Message::ExportFailed(error),
            });
        }
        Msg::Customer { request, result } => {
            if let Some(customer) = &mut state.customer
                && customer.request == request
            {
                customer.load = match result {
                    Ok(Some(detail)) => CustomerLoad::Loaded(Box::new(detail)),
                    Ok(None) => CustomerLoad::Unknown,
                    Err(error) => CustomerLoad::Failed(error),
                };
                let visits = customer.load.detail().map(|d| d.visits.len()).unwrap_or(0);
                customer.top = customer.top.min(visits.saturating_sub(1));
            }
        }
    }
    state.start_refresh_if_due(&mut effects);
    effects
}
