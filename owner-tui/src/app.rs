//! The dashboard as a pure state machine: `update(&mut State, Msg) -> Vec<Effect>`.
//!
//! Time comes in with `Msg::Tick` (a monotonic instant as a `Duration` since start, and the wall
//! clock), so the refresh scheduling (coalescing, trailing refresh, periodic fallback, retry
//! backoff) is deterministic and testable without sleeping.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};
use store_core::domain::analytics::{
    Dashboard, Filter, LoyalBuyer, TopProduct, TrendBucket, TrendPoint,
};

use crate::keymap::Action;

/// Rows per loyal-buyers page fetched from the database.
pub const LOYAL_PAGE: usize = 50;
/// At most one refresh is started per this interval.
pub const MIN_REFRESH_GAP: Duration = Duration::from_millis(250);
/// One refresh this long after the last notice of a burst (the server sends at most one notice
/// per session per 200 ms, so sales just after a notice may come without one).
pub const TRAILING: Duration = Duration::from_millis(400);
/// A sale is on screen within about this long even in a continuous flood of notices.
pub const MAX_NOTICE_DELAY: Duration = Duration::from_millis(800);
/// A refresh running this long shows "waiting for the database" (it times out later, in
/// effects.rs, and the figures are then marked STALE).
pub const WAITING_AFTER: Duration = Duration::from_secs(2);
/// Pages of loyal buyers kept around the visible rows (the rest are dropped).
const PAGES_KEPT_AROUND: usize = 2;

#[derive(Clone, Debug)]
pub struct Settings {
    pub refresh_every: Duration,
    pub export_dir: PathBuf,
    /// The owner's time zone, for "updated HH:MM:SS" and the export files' names.
    pub time_zone: TimeZone,
}

/// A time zone: the UTC offset in force at an instant. Asked for each timestamp shown, so a DST
/// change shows at once; injected, so tests need not depend on the machine's zone.
pub type TimeZone = fn(DateTime<Utc>) -> FixedOffset;

/// The machine's time zone (`TZ`, else /etc/localtime), with its DST rules.
pub fn system_time_zone(at: DateTime<Utc>) -> FixedOffset {
    at.with_timezone(&Local).offset().fix()
}

impl Settings {
    /// `at` on the owner's clock.
    pub fn local(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        at.with_timezone(&(self.time_zone)(at))
    }
}

/// One refresh's answer: the dashboard and the sales trend for the same filter.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub dashboard: Dashboard,
    pub trend: Vec<TrendPoint>,
    pub bucket: TrendBucket,
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
    Branches(Result<Vec<String>, String>),
    Exported(Result<ExportDone, String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExportRequest {
    pub dir: PathBuf,
    pub filter: Filter,
    pub min_purchases: i32,
    pub loyal_count: i64,
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

#[derive(Clone, Debug, PartialEq)]
pub struct LoyalPageRows {
    /// The data generation it was fetched for; older pages are shown until replaced.
    pub generation: u64,
    pub rows: Vec<LoyalBuyer>,
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
    pub status: Option<String>,
    pub help: bool,
    pub branches: Vec<String>,
    pub size: (u16, u16),
    // The loyal buyers list, paged from the database.
    pub loyal_top: usize,
    pub loyal_pages: BTreeMap<usize, LoyalPageRows>,
    pub loyal_loading: BTreeSet<usize>,
    pub loyal_generation: u64,
    pub trend_bucket: TrendBucket,
    // Refresh scheduling.
    next_id: u64,
    pub in_flight: Option<u64>,
    last_start: Option<Duration>,
    want_refresh: bool,
    notice_due: Option<Duration>,
    pending_since: Option<Duration>,
    last_notice: Option<Duration>,
    failures: u32,
    retry_due: Option<Duration>,
    dirty: bool,
}

impl State {
    pub fn new(settings: Settings, min_purchases: i32) -> State {
        State {
            settings,
            now: Duration::ZERO,
            wall: None,
            filter: Filter::default(),
            min_purchases: min_purchases.max(1),
            connection: Connection::Connecting { last_error: None },
            shown: None,
            freeze: Freeze::Live,
            stale: None,
            listener_error: None,
            status: None,
            help: false,
            branches: Vec::new(),
            size: (80, 24),
            loyal_top: 0,
            loyal_pages: BTreeMap::new(),
            loyal_loading: BTreeSet::new(),
            loyal_generation: 0,
            trend_bucket: default_bucket(&Filter::default()),
            next_id: 1,
            in_flight: None,
            last_start: None,
            want_refresh: false,
            notice_due: None,
            pending_since: None,
            last_notice: None,
            failures: 0,
            retry_due: None,
            dirty: true,
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.connection, Connection::Connected { .. })
    }

    pub fn is_frozen(&self) -> bool {
        matches!(self.freeze, Freeze::Frozen { .. })
    }

    /// A refresh has been running for `WAITING_AFTER` or more: the database is slow to answer
    /// (a lock, a hung link), and the screen says so before the refresh times out.
    pub fn waiting_for_database(&self) -> bool {
        self.in_flight.is_some()
            && self
                .last_start
                .is_some_and(|started| self.now >= started + WAITING_AFTER)
    }

    /// True once after anything visible changed: the caller redraws.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// The branches `b` cycles through: the catalog's, or those seen in the figures.
    pub fn branch_ids(&self) -> Vec<String> {
        if !self.branches.is_empty() {
            return self.branches.clone();
        }
        self.shown
            .as_ref()
            .map(|s| {
                s.dashboard
                    .branches
                    .iter()
                    .map(|b| b.supermarket_id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The loyal buyer at `index` in the whole sorted list, if its page is here.
    pub fn loyal_row(&self, index: usize) -> Option<&LoyalBuyer> {
        self.loyal_pages
            .get(&(index / LOYAL_PAGE))
            .and_then(|p| p.rows.get(index % LOYAL_PAGE))
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

    fn request_refresh(&mut self) {
        self.want_refresh = true;
    }

    /// Starts a refresh if one is wanted and allowed: connected, not frozen, none in flight,
    /// and none started in the last `MIN_REFRESH_GAP`.
    fn maybe_start_refresh(&mut self, effects: &mut Vec<Effect>) {
        if !self.want_refresh
            || !self.is_connected()
            || self.is_frozen()
            || self.in_flight.is_some()
        {
            return;
        }
        if let Some(last) = self.last_start
            && self.now < last + MIN_REFRESH_GAP
        {
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some(id);
        self.last_start = Some(self.now);
        self.want_refresh = false;
        self.retry_due = None;
        // Every notice so far is covered; only the trailing one after the last notice remains,
        // unless this refresh already starts late enough to be it.
        self.pending_since = None;
        self.notice_due = match self.last_notice {
            Some(last) if self.notice_due.is_some() && self.now < last + TRAILING => {
                Some(last + TRAILING)
            }
            _ => None,
        };
        effects.push(Effect::Refresh {
            id,
            filter: self.filter.clone(),
            min_purchases: self.min_purchases,
            page_size: LOYAL_PAGE as i64,
            bucket: self.trend_bucket,
        });
    }

    fn on_notice(&mut self) {
        let now = self.now;
        let first_of_burst = self.pending_since.is_none() && self.notice_due.is_none();
        self.last_notice = Some(now);
        if first_of_burst && self.in_flight.is_none() {
            // A lone sale shows at once; the trailing refresh follows.
            self.request_refresh();
            self.notice_due = Some(now + TRAILING);
            return;
        }
        let since = *self.pending_since.get_or_insert(now);
        self.notice_due = Some((now + TRAILING).min(since + MAX_NOTICE_DELAY));
    }

    fn on_tick(&mut self, was_waiting: bool) {
        if self.waiting_for_database() != was_waiting {
            self.dirty = true;
        }
        if let Some(due) = self.notice_due
            && self.now >= due
        {
            self.request_refresh();
        }
        if let Some(due) = self.retry_due
            && self.now >= due
        {
            self.request_refresh();
        }
        if self.is_connected()
            && self
                .last_start
                .is_some_and(|last| self.now >= last + self.settings.refresh_every)
        {
            self.request_refresh();
        }
    }

    fn apply(&mut self, snapshot: Snapshot, effects: &mut Vec<Effect>) {
        self.shown = Some(snapshot);
        self.loyal_generation += 1;
        self.loyal_loading.clear();
        let generation = self.loyal_generation;
        let first = self
            .shown
            .as_ref()
            .map(|s| s.dashboard.loyal_page.clone())
            .unwrap_or_default();
        self.loyal_pages.insert(
            0,
            LoyalPageRows {
                generation,
                rows: first,
            },
        );
        let count = self.loyal_count();
        if self.loyal_top >= count {
            self.loyal_top = count.saturating_sub(1);
        }
        self.dirty = true;
        self.ensure_loyal_pages(effects);
    }

    /// Fetches the pages the visible rows need (and the next one), drops far-away pages.
    fn ensure_loyal_pages(&mut self, effects: &mut Vec<Effect>) {
        let Some(shown) = &self.shown else { return };
        let count = self.loyal_count();
        let filter = shown.dashboard.filter.clone();
        let min = shown.dashboard.min_purchases;
        if count == 0 {
            self.loyal_pages.retain(|p, _| *p == 0);
            return;
        }
        let first = self.loyal_top / LOYAL_PAGE;
        let last_row = (self.loyal_top + self.loyal_visible()).min(count) - 1;
        let last = last_row / LOYAL_PAGE;
        for page in first..=last {
            let current = self
                .loyal_pages
                .get(&page)
                .is_some_and(|p| p.generation == self.loyal_generation);
            if !current && !self.loyal_loading.contains(&page) {
                self.loyal_loading.insert(page);
                effects.push(Effect::LoadLoyalPage {
                    generation: self.loyal_generation,
                    page,
                    filter: filter.clone(),
                    min_purchases: min,
                    offset: (page * LOYAL_PAGE) as i64,
                    limit: LOYAL_PAGE as i64,
                });
            }
        }
        let keep_from = first.saturating_sub(PAGES_KEPT_AROUND);
        let keep_to = last + PAGES_KEPT_AROUND;
        self.loyal_pages
            .retain(|p, _| (keep_from..=keep_to).contains(p));
    }

    fn scroll_to(&mut self, top: usize, effects: &mut Vec<Effect>) {
        let count = self.loyal_count();
        let max_top = count.saturating_sub(self.loyal_visible());
        let top = top.min(max_top);
        if top != self.loyal_top {
            self.loyal_top = top;
            self.dirty = true;
        }
        self.ensure_loyal_pages(effects);
    }

    /// A new selection (filter or threshold): ask for it, and start over at the top.
    fn selection_changed(&mut self) {
        self.loyal_top = 0;
        self.trend_bucket = default_bucket(&self.filter);
        self.request_refresh();
        self.dirty = true;
    }

    fn refuse_while_frozen(&mut self) -> bool {
        let frozen = self.is_frozen();
        if frozen {
            self.status = Some("Frozen: press f to unfreeze before changing what is shown".into());
            self.dirty = true;
        }
        frozen
    }

    fn on_action(&mut self, action: Action, effects: &mut Vec<Effect>) {
        if self.help && !matches!(action, Action::Quit | Action::Help | Action::CloseOverlay) {
            // Any other key just closes the help.
            self.help = false;
            self.dirty = true;
            return;
        }
        match action {
            Action::Quit => effects.push(Effect::Quit),
            Action::Help => {
                self.help = !self.help;
                self.dirty = true;
            }
            Action::CloseOverlay => {
                if self.help {
                    self.help = false;
                    self.dirty = true;
                }
            }
            Action::Refresh => {
                if !self.refuse_while_frozen() {
                    self.request_refresh();
                    self.status = None;
                    self.dirty = true;
                }
            }
            Action::Freeze => {
                self.status = None;
                self.dirty = true;
                match std::mem::replace(&mut self.freeze, Freeze::Live) {
                    Freeze::Live => self.freeze = Freeze::Frozen { held: None },
                    Freeze::Frozen { held } => {
                        if let Some(held) = held {
                            self.apply(*held, effects);
                        }
                        self.request_refresh();
                    }
                }
            }
            Action::CycleBranch => {
                if self.refuse_while_frozen() {
                    return;
                }
                let ids = self.branch_ids();
                self.filter.supermarket_id = match &self.filter.supermarket_id {
                    None => ids.first().cloned(),
                    Some(current) => {
                        let i = ids.iter().position(|b| b == current);
                        i.and_then(|i| ids.get(i + 1)).cloned()
                    }
                };
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
                    self.status = Some("Loyal buyers need at least 1 purchase".into());
                    self.dirty = true;
                }
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
                        loyal_count: d.loyal_buyers,
                        top_products: d.top_products.clone(),
                        stamp,
                    }));
                    self.status = Some("Exporting…".into());
                    self.dirty = true;
                }
                None => {
                    self.status = Some("Nothing to export yet".into());
                    self.dirty = true;
                }
            },
            Action::ScrollUp => self.scroll_to(self.loyal_top.saturating_sub(1), effects),
            Action::ScrollDown => self.scroll_to(self.loyal_top + 1, effects),
            Action::PageUp => {
                let step = self.loyal_visible();
                self.scroll_to(self.loyal_top.saturating_sub(step), effects)
            }
            Action::PageDown => {
                let step = self.loyal_visible();
                self.scroll_to(self.loyal_top + step, effects)
            }
            Action::Top => self.scroll_to(0, effects),
            Action::Bottom => self.scroll_to(usize::MAX, effects),
        }
    }
}

/// Hours for a day's figures, days for anything longer (adjusted to the data's range later).
pub fn default_bucket(filter: &Filter) -> TrendBucket {
    match filter.period {
        store_core::domain::analytics::Period::Today => TrendBucket::Hour,
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

fn retry_delay(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(3)).min(Duration::from_secs(10))
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut effects = Vec::new();
    match msg {
        Msg::Tick { now, wall } => {
            let was_waiting = state.waiting_for_database();
            state.now = now;
            state.wall = Some(wall);
            state.on_tick(was_waiting);
        }
        Msg::Action(action) => state.on_action(action, &mut effects),
        Msg::Resize { width, height } => {
            state.size = (width, height);
            state.dirty = true;
            let top = state.loyal_top;
            state.scroll_to(top, &mut effects);
        }
        Msg::Connected { description } => {
            state.connection = Connection::Connected { description };
            state.dirty = true;
            state.request_refresh();
            effects.push(Effect::LoadBranches);
        }
        Msg::ConnectFailed { error } => {
            if let Connection::Connecting { last_error } = &mut state.connection {
                *last_error = Some(error);
                state.dirty = true;
            }
        }
        Msg::Notice { channel } => {
            if channel == store_core::db::live::LISTENING {
                // From now on no sale goes unannounced; one refresh covers those made while
                // the listener was away (or before it first started).
                if state.listener_error.take().is_some() {
                    state.dirty = true;
                }
                state.request_refresh();
            } else if channel == store_core::db::live::CATALOG_CHANNEL {
                effects.push(Effect::LoadBranches);
                state.request_refresh();
            } else {
                state.on_notice();
            }
        }
        Msg::ListenerLost { error } => {
            state.listener_error = Some(error);
            state.dirty = true;
            // Find out at once whether the database itself is gone.
            state.request_refresh();
        }
        Msg::Refreshed { id, result } => {
            if state.in_flight == Some(id) {
                state.in_flight = None;
            }
            match result {
                Ok(snapshot) => {
                    state.failures = 0;
                    state.retry_due = None;
                    if state.stale.take().is_some() {
                        state.dirty = true;
                    }
                    let snapshot = *snapshot;
                    let current = snapshot.dashboard.filter == state.filter
                        && snapshot.dashboard.min_purchases == state.min_purchases;
                    if current {
                        // Hourly bars for short ranges, daily for long ones.
                        let suits = bucket_for_range(&snapshot.trend);
                        if snapshot.bucket != suits && !snapshot.trend.is_empty() {
                            state.trend_bucket = suits;
                            state.request_refresh();
                        }
                        if let Freeze::Frozen { held } = &mut state.freeze {
                            *held = Some(Box::new(snapshot));
                        } else {
                            state.apply(snapshot, &mut effects);
                        }
                    }
                }
                Err(error) => {
                    state.failures += 1;
                    state.retry_due = Some(state.now + retry_delay(state.failures));
                    state.stale = Some(error);
                    state.dirty = true;
                }
            }
        }
        Msg::LoyalPage {
            generation,
            page,
            result,
        } => {
            if generation == state.loyal_generation {
                state.loyal_loading.remove(&page);
                match result {
                    Ok(rows) => {
                        state
                            .loyal_pages
                            .insert(page, LoyalPageRows { generation, rows });
                        state.dirty = true;
                    }
                    Err(error) => {
                        state.stale = Some(error);
                        state.failures += 1;
                        state.retry_due = Some(state.now + retry_delay(state.failures));
                        state.dirty = true;
                    }
                }
            }
        }
        Msg::Branches(result) => match result {
            Ok(ids) => {
                state.branches = ids;
                state.dirty = true;
            }
            Err(error) => tracing::warn!("loading branches: {error}"),
        },
        Msg::Exported(result) => {
            state.status = Some(match result {
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
                    format!(
                        "Exported {} loyal buyers + {} top products as CSV to {dir}/",
                        done.loyal_rows, done.top_rows
                    )
                }
                Err(error) => format!("Export failed: {error}"),
            });
            state.dirty = true;
        }
    }
    state.maybe_start_refresh(&mut effects);
    effects
}
