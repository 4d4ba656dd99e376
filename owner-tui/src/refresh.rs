//! When to refresh the figures: coalescing the database's notices, the trailing refresh after a
//! burst, the periodic fallback, the retry back-off after a failure and the one refresh in
//! flight, in one type. Time is passed in (a monotonic instant as a `Duration` since start), so
//! every rule is tested here without sleeping.

use std::time::Duration;

use store_core::retry::RetryPolicy;

/// At most one refresh is started per this interval.
pub const MIN_REFRESH_GAP: Duration = Duration::from_millis(250);
/// A costly refresh (a long period at a large history) waits this many times its own cost
/// before the next one starts, so that one dashboard keeps the database busy at most a fifth of
/// the time while the tills sell; never longer than `MAX_REFRESH_GAP`.
pub const REFRESH_COST_FACTOR: u32 = 4;
/// A sale is on screen within about this long plus a refresh's cost, however costly.
pub const MAX_REFRESH_GAP: Duration = Duration::from_secs(1);

/// The least time from one refresh's start to the next's, after one that took `cost`.
pub fn gap_after(cost: Duration) -> Duration {
    (cost * REFRESH_COST_FACTOR).clamp(MIN_REFRESH_GAP, MAX_REFRESH_GAP)
}
/// One refresh this long after the last notice of a burst (the server sends at most one notice
/// per session per 200 ms, so sales just after a notice may come without one).
pub const TRAILING: Duration = Duration::from_millis(400);
/// A sale is on screen within about this long even in a continuous flood of notices.
pub const MAX_NOTICE_DELAY: Duration = Duration::from_millis(800);
/// A refresh running this long shows "waiting for the database" (it times out later, in
/// effects.rs, and the figures are then marked STALE).
pub const WAITING_AFTER: Duration = Duration::from_secs(2);

/// How long to wait before retrying after `failures` failed refreshes in a row (1 s, doubling,
/// at most 8 s).
pub fn retry_delay(failures: u32) -> Duration {
    REFRESH_RETRY.delay(failures)
}

const REFRESH_RETRY: RetryPolicy = RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(8));

/// The refreshes started so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runs {
    NeverStarted,
    Running {
        id: u64,
        started: Duration,
    },
    Idle {
        last_started: Duration,
        /// How long it took, from its start to its answer.
        last_cost: Duration,
    },
}

/// Notices that no refresh has covered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notices {
    AllCovered,
    /// A refresh is due at `due`: `TRAILING` after the `last` notice, but no later than
    /// `MAX_NOTICE_DELAY` after the first notice no refresh has covered (`uncovered_since`).
    Owed {
        last: Duration,
        due: Duration,
        uncovered_since: Option<Duration>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Failing {
    /// Failed refreshes (or pages) in a row, at least 1.
    failures: u32,
    /// When to try again; none once the retry has started.
    retry_at: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshSchedule {
    next_id: u64,
    runs: Runs,
    /// A refresh is wanted as soon as one may start.
    wanted: bool,
    notices: Notices,
    failing: Option<Failing>,
}

impl Default for RefreshSchedule {
    fn default() -> Self {
        RefreshSchedule {
            next_id: 1,
            runs: Runs::NeverStarted,
            wanted: false,
            notices: Notices::AllCovered,
            failing: None,
        }
    }
}

impl RefreshSchedule {
    /// Asks for a refresh as soon as one may start.
    pub fn request(&mut self) {
        self.wanted = true;
    }

    /// The id of the refresh in flight, if any.
    pub fn in_flight(&self) -> Option<u64> {
        match self.runs {
            Runs::Running { id, .. } => Some(id),
            _ => None,
        }
    }

    /// A refresh has been running for `WAITING_AFTER` or more.
    pub fn waiting(&self, now: Duration) -> bool {
        matches!(self.runs, Runs::Running { started, .. } if now >= started + WAITING_AFTER)
    }

    fn last_started(&self) -> Option<Duration> {
        match self.runs {
            Runs::NeverStarted => None,
            Runs::Running { started, .. } => Some(started),
            Runs::Idle { last_started, .. } => Some(last_started),
        }
    }

    /// A sale was announced: a lone one is shown at once (and a trailing refresh follows), a
    /// burst is coalesced.
    pub fn notice(&mut self, now: Duration) {
        let first_of_burst = self.notices == Notices::AllCovered;
        if first_of_burst && self.in_flight().is_none() {
            self.request();
            self.notices = Notices::Owed {
                last: now,
                due: now + TRAILING,
                uncovered_since: None,
            };
            return;
        }
        let since = match self.notices {
            Notices::Owed {
                uncovered_since: Some(since),
                ..
            } => since,
            _ => now,
        };
        self.notices = Notices::Owed {
            last: now,
            due: (now + TRAILING).min(since + MAX_NOTICE_DELAY),
            uncovered_since: Some(since),
        };
    }

    /// Time passed: a refresh is wanted when the notices', the retry's or the periodic one's
    /// time has come (the periodic one counts from the last refresh started).
    pub fn tick(&mut self, now: Duration, refresh_every: Duration) {
        if let Notices::Owed { due, .. } = self.notices
            && now >= due
        {
            self.request();
        }
        if let Some(Failing {
            retry_at: Some(at), ..
        }) = self.failing
            && now >= at
        {
            self.request();
        }
        if self
            .last_started()
            .is_some_and(|last| now >= last + refresh_every)
        {
            self.request();
        }
    }

    /// Starts a refresh if one is wanted and allowed: `may_start` (connected, not frozen), none
    /// in flight and none started in the last `gap_after` the last one's cost. Its id, if it
    /// started.
    pub fn start(&mut self, now: Duration, may_start: bool) -> Option<u64> {
        if !self.wanted || !may_start || self.in_flight().is_some() {
            return None;
        }
        if let Runs::Idle {
            last_started,
            last_cost,
        } = self.runs
            && now < last_started + gap_after(last_cost)
        {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.runs = Runs::Running { id, started: now };
        self.wanted = false;
        if let Some(failing) = &mut self.failing {
            failing.retry_at = None;
        }
        // Every notice so far is covered; only the trailing one after the last notice remains,
        // unless this refresh already starts late enough to be it.
        self.notices = match self.notices {
            Notices::Owed { last, .. } if now < last + TRAILING => Notices::Owed {
                last,
                due: last + TRAILING,
                uncovered_since: None,
            },
            _ => Notices::AllCovered,
        };
        Some(id)
    }

    /// The answer of refresh `id` arrived (an older one's too: it still says whether the
    /// database answers).
    pub fn answered(&mut self, id: u64, succeeded: bool, now: Duration) {
        if let Runs::Running {
            id: running,
            started,
            ..
        } = self.runs
            && running == id
        {
            self.runs = Runs::Idle {
                last_started: started,
                last_cost: now.saturating_sub(started),
            };
        }
        if succeeded {
            self.failing = None;
        } else {
            self.failed(now);
        }
    }

    /// Something the screen needs failed (a refresh or a page of loyal buyers): retry later,
    /// waiting longer after each failure in a row.
    pub fn failed(&mut self, now: Duration) {
        let failures = self.failing.map_or(0, |f| f.failures) + 1;
        self.failing = Some(Failing {
            failures,
            retry_at: Some(now + retry_delay(failures)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Duration = Duration::from_secs(60);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Ticks from `from` to `to` every 10 ms, starting what may start: the times refreshes
    /// started, each answered at once.
    fn run(schedule: &mut RefreshSchedule, from: u64, to: u64) -> Vec<u64> {
        let mut started = Vec::new();
        let mut t = from;
        while t <= to {
            schedule.tick(ms(t), EVERY);
            if let Some(id) = schedule.start(ms(t), true) {
                started.push(t);
                schedule.answered(id, true, ms(t));
            }
            t += 10;
        }
        started
    }

    #[test]
    fn nothing_starts_unless_wanted_and_allowed() {
        let mut schedule = RefreshSchedule::default();
        assert_eq!(schedule.start(ms(0), true), None, "not wanted");
        schedule.request();
        assert_eq!(schedule.start(ms(0), false), None, "not allowed");
        assert_eq!(schedule.start(ms(10), true), Some(1));
        assert_eq!(schedule.in_flight(), Some(1));
    }

    #[test]
    fn one_refresh_in_flight_at_a_time_and_a_gap_between_starts() {
        let mut schedule = RefreshSchedule::default();
        schedule.request();
        let id = schedule.start(ms(0), true).unwrap();
        schedule.request();
        assert_eq!(schedule.start(ms(5), true), None, "one in flight");
        // A cheap refresh (the gap after a costly one: below).
        schedule.answered(id, true, ms(10));
        assert_eq!(schedule.in_flight(), None);
        assert_eq!(
            schedule.start(ms(200), true),
            None,
            "too soon after the last"
        );
        assert_eq!(
            schedule.start(ms(0) + MIN_REFRESH_GAP, true),
            Some(id + 1),
            "the wish was kept"
        );
    }

    #[test]
    fn an_older_answer_does_not_end_the_refresh_in_flight() {
        let mut schedule = RefreshSchedule::default();
        schedule.request();
        let id = schedule.start(ms(0), true).unwrap();
        schedule.answered(id + 7, true, ms(10));
        assert_eq!(schedule.in_flight(), Some(id));
    }

    #[test]
    fn a_lone_notice_refreshes_at_once_then_once_more_after_the_trailing_delay() {
        let mut schedule = RefreshSchedule::default();
        schedule.notice(ms(1_000));
        let started = run(&mut schedule, 1_000, 5_000);
        assert_eq!(started, vec![1_000, 1_000 + TRAILING.as_millis() as u64]);
    }

    #[test]
    fn a_flood_of_notices_is_shown_within_the_maximum_delay() {
        let mut schedule = RefreshSchedule::default();
        let mut notices = Vec::new();
        let mut starts = Vec::new();
        // A notice every 100 ms for 3 s, each refresh answered at once.
        for t in (0..4_000).step_by(10) {
            if t % 100 == 0 && t < 3_000 {
                schedule.notice(ms(t));
                notices.push(t);
            }
            schedule.tick(ms(t), EVERY);
            if let Some(id) = schedule.start(ms(t), true) {
                starts.push(t);
                schedule.answered(id, true, ms(t));
            }
        }
        for notice in notices {
            let covered_at = starts.iter().find(|s| **s >= notice);
            assert!(
                covered_at.is_some_and(|s| s - notice <= MAX_NOTICE_DELAY.as_millis() as u64),
                "notice at {notice} ms, refreshes at {starts:?}"
            );
        }
        assert!(starts.len() < 10, "coalesced: {starts:?}");
        assert!(
            starts
                .windows(2)
                .all(|w| w[1] - w[0] >= MIN_REFRESH_GAP.as_millis() as u64),
            "{starts:?}"
        );
    }

    #[test]
    fn the_periodic_refresh_counts_from_the_last_start() {
        let mut schedule = RefreshSchedule::default();
        schedule.tick(ms(0) + EVERY * 3, EVERY);
        assert_eq!(
            schedule.start(EVERY * 3, true),
            None,
            "never started: nothing to follow up"
        );
        schedule.request();
        let id = schedule.start(ms(1_000), true).unwrap();
        schedule.answered(id, true, ms(1_100));
        schedule.tick(ms(1_000) + EVERY - ms(10), EVERY);
        assert_eq!(schedule.start(ms(1_000) + EVERY - ms(10), true), None);
        schedule.tick(ms(1_000) + EVERY, EVERY);
        assert!(schedule.start(ms(1_000) + EVERY, true).is_some());
    }

    #[test]
    fn failures_are_retried_later_each_time_and_a_success_resets_the_delay() {
        let mut schedule = RefreshSchedule::default();
        let mut t = ms(0);
        let mut delays = Vec::new();
        schedule.request();
        let mut id = schedule.start(t, true).unwrap();
        for _ in 0..5 {
            schedule.answered(id, false, t);
            let failed_at = t;
            id = loop {
                t += ms(10);
                schedule.tick(t, EVERY);
                if let Some(id) = schedule.start(t, true) {
                    break id;
                }
            };
            delays.push((t - failed_at).as_millis());
        }
        assert_eq!(delays, vec![1_000, 2_000, 4_000, 8_000, 8_000]);
        schedule.answered(id, true, t);
        schedule.failed(t);
        assert_eq!(
            schedule.failing.unwrap().retry_at,
            Some(t + retry_delay(1)),
            "a success starts the back-off over"
        );
    }

    #[test]
    fn waiting_shows_after_the_refresh_ran_long_enough() {
        let mut schedule = RefreshSchedule::default();
        schedule.request();
        schedule.start(ms(1_000), true).unwrap();
        assert!(!schedule.waiting(ms(1_000) + WAITING_AFTER - ms(1)));
        assert!(schedule.waiting(ms(1_000) + WAITING_AFTER));
    }

    #[test]
    fn retry_delay_doubles_up_to_its_cap() {
        let delays: Vec<u64> = (1..=6).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn a_costly_refresh_waits_a_multiple_of_its_cost_before_the_next_but_at_most_a_second() {
        assert_eq!(gap_after(ms(1)), MIN_REFRESH_GAP);
        assert_eq!(gap_after(ms(150)), ms(600));
        assert_eq!(gap_after(ms(900)), MAX_REFRESH_GAP);
        // Notices keep coming; each refresh takes 150 ms.
        let mut schedule = RefreshSchedule::default();
        let mut starts = Vec::new();
        let mut running: Option<(u64, u64)> = None;
        for t in (0..3000).step_by(10) {
            schedule.notice(ms(t));
            schedule.tick(ms(t), EVERY);
            if let Some((id, started)) = running
                && t >= started + 150
            {
                schedule.answered(id, true, ms(t));
                running = None;
            }
            if let Some(id) = schedule.start(ms(t), true) {
                starts.push(t);
                running = Some((id, t));
            }
        }
        assert!(starts.len() >= 4, "{starts:?}");
        for pair in starts.windows(2).skip(1) {
            assert!(pair[1] - pair[0] >= 600, "{starts:?}");
        }
        // A cheap one afterwards brings the gap back down.
        let mut schedule = RefreshSchedule::default();
        schedule.request();
        let id = schedule.start(ms(0), true).unwrap();
        schedule.answered(id, true, ms(2));
        schedule.request();
        assert_eq!(schedule.start(ms(200), true), None);
        assert!(schedule.start(ms(250), true).is_some());
    }
}
