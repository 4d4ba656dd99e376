//! Periods: whole days in the filter's zone (local dates; days of 23 to 25 hours), inclusive.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::time_zone::{self, Tz};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    #[default]
    AllTime,
    Today,
    Yesterday,
    /// Today and the 6 days before.
    Last7Days,
    /// Today and the 29 days before.
    Last30Days,
    /// From the 1st of this month to today.
    ThisMonth,
    /// From `from` to `to`, both included.
    Range {
        from: NaiveDate,
        to: NaiveDate,
    },
}

impl Period {
    /// What the owner's `p` cycles through.
    pub const PRESETS: [Period; 6] = [
        Period::AllTime,
        Period::Today,
        Period::Yesterday,
        Period::Last7Days,
        Period::Last30Days,
        Period::ThisMonth,
    ];

    /// The first and last local dates the period covers at `now` in `zone`, or None for all
    /// time.
    pub fn dates(self, now: DateTime<Utc>, zone: Tz) -> Option<(NaiveDate, NaiveDate)> {
        let today = now.with_timezone(&zone).date_naive();
        let days_back = |n: u64| {
            today
                .checked_sub_days(chrono::Days::new(n))
                .unwrap_or(today)
        };
        match self {
            Period::AllTime => None,
            Period::Today => Some((today, today)),
            Period::Yesterday => Some((days_back(1), days_back(1))),
            Period::Last7Days => Some((days_back(6), today)),
            Period::Last30Days => Some((days_back(29), today)),
            Period::ThisMonth => Some((today.with_day(1).unwrap_or(today), today)),
            Period::Range { from, to } => Some((from, to)),
        }
    }

    /// [start, end): from the first instant of the first day to the first instant of the day
    /// after the last, in `zone`; None for all time.
    pub fn bounds(self, now: DateTime<Utc>, zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (from, to) = self.dates(now, zone)?;
        let after = to.succ_opt().unwrap_or(to);
        Some((
            time_zone::start_of_date(from, zone),
            time_zone::start_of_date(after, zone),
        ))
    }

    /// The first instant the period covers, or None for all time: "today" began at the
    /// last midnight in `zone` (23 or 25 hours before the next one on the days clocks change).
    pub fn since(self, now: DateTime<Utc>, zone: Tz) -> Option<DateTime<Utc>> {
        self.bounds(now, zone).map(|(start, _)| start)
    }

    /// The period of the same number of days just before this one (None for all time).
    pub fn previous(self, now: DateTime<Utc>, zone: Tz) -> Option<Period> {
        let (from, to) = self.dates(now, zone)?;
        let days = (to - from).num_days().max(0) as u64 + 1;
        let before = from.checked_sub_days(chrono::Days::new(1))?;
        let first = from.checked_sub_days(chrono::Days::new(days))?;
        Some(Period::Range {
            from: first,
            to: before,
        })
    }

    pub fn label(self) -> String {
        match self {
            Period::AllTime => "all time".into(),
            Period::Today => "today".into(),
            Period::Yesterday => "yesterday".into(),
            Period::Last7Days => "last 7 days".into(),
            Period::Last30Days => "last 30 days".into(),
            Period::ThisMonth => "this month".into(),
            Period::Range { from, to } if from == to => from.to_string(),
            Period::Range { from, to } => format!("{from} – {to}"),
        }
    }

    /// The next preset (a typed range is followed by all time).
    pub fn next(self) -> Period {
        let i = Period::PRESETS.iter().position(|p| *p == self);
        match i {
            Some(i) => Period::PRESETS[(i + 1) % Period::PRESETS.len()],
            None => Period::AllTime,
        }
    }

    /// A typed range: two dates YYYY-MM-DD, the first not after the second.
    pub fn parse_range(from: &str, to: &str) -> Result<Period, String> {
        let date = |what: &str, text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "{what} {}: give a date as YYYY-MM-DD, such as 2026-11-01",
                    crate::domain::input::quote(text.trim())
                )
            })
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if from > to {
            return Err(format!(
                "the range starts after it ends: from {from} is after to {to}"
            ));
        }
        Ok(Period::Range { from, to })
    }

    /// The number of local days the period covers at `now` (None for all time).
    pub fn days(self, now: DateTime<Utc>, zone: Tz) -> Option<i64> {
        self.dates(now, zone)
            .map(|(from, to)| (to - from).num_days() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn periods_are_whole_local_days() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 30, 0).unwrap();
        let utc = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        assert_eq!(Period::AllTime.bounds(now, Tz::UTC), None);
        assert_eq!(
            Period::Today.bounds(now, Tz::UTC),
            Some((utc(2026, 11, 26, 0), utc(2026, 11, 27, 0)))
        );
        assert_eq!(
            Period::Last7Days.bounds(now, Tz::UTC),
            Some((utc(2026, 11, 20, 0), utc(2026, 11, 27, 0)))
        );
        assert_eq!(
            Period::Last30Days.dates(now, Tz::UTC),
            Some((date(2026, 10, 28), date(2026, 11, 26)))
        );
        assert_eq!(
            Period::ThisMonth.dates(now, Tz::UTC),
            Some((date(2026, 11, 1), date(2026, 11, 26)))
        );
        // In Tokyo it is already the 27th.
        assert_eq!(
            Period::Yesterday.bounds(now, Tz::Asia__Tokyo),
            Some((utc(2026, 11, 25, 15), utc(2026, 11, 26, 15)))
        );
        // Today in Tokyo began at 15:00 UTC the day before; in New York at 05:00 UTC.
        assert_eq!(
            Period::Today.since(now, Tz::Asia__Tokyo),
            Some(utc(2026, 11, 26, 15))
        );
        let late_evening_in_new_york = utc(2026, 11, 27, 3);
        assert_eq!(
            Period::Today.since(late_evening_in_new_york, Tz::America__New_York),
            Some(utc(2026, 11, 26, 5))
        );
        // The day the clocks go back in Paris has 25 hours.
        let fall_back = Period::Range {
            from: date(2025, 10, 26),
            to: date(2025, 10, 26),
        };
        let (start, end) = fall_back.bounds(now, Tz::Europe__Paris).unwrap();
        assert_eq!(
            (start, end - start),
            (utc(2025, 10, 25, 22), chrono::TimeDelta::hours(25))
        );
    }

    #[test]
    fn the_previous_period_has_as_many_days_just_before() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 15, 30, 0).unwrap();
        assert_eq!(Period::AllTime.previous(now, Tz::UTC), None);
        assert_eq!(
            Period::Today.previous(now, Tz::UTC),
            Some(Period::Range {
                from: date(2026, 11, 25),
                to: date(2026, 11, 25)
            })
        );
        assert_eq!(
            Period::Last30Days.previous(now, Tz::UTC),
            Some(Period::Range {
                from: date(2026, 9, 28),
                to: date(2026, 10, 27)
            })
        );
        assert_eq!(
            Period::ThisMonth
                .previous(now, Tz::UTC)
                .unwrap()
                .days(now, Tz::UTC),
            Some(26)
        );
    }

    #[test]
    fn presets_cycle_and_ranges_parse() {
        assert_eq!(Period::ThisMonth.next(), Period::AllTime);
        assert_eq!(Period::AllTime.next(), Period::Today);
        let range = Period::parse_range("2026-11-01", " 2026-11-30 ").unwrap();
        assert_eq!(range.label(), "2026-11-01 – 2026-11-30");
        assert_eq!(range.next(), Period::AllTime);
        let backwards = Period::parse_range("2026-11-30", "2026-11-01").unwrap_err();
        assert!(backwards.contains("starts after it ends"), "{backwards}");
        let bad = Period::parse_range("2026-13-01", "2026-11-01").unwrap_err();
        assert!(
            bad.starts_with("from \"2026-13-01\": give a date as YYYY-MM-DD"),
            "{bad}"
        );
        assert_eq!(
            serde_json::to_value(range).unwrap(),
            serde_json::json!({"range": {"from": "2026-11-01", "to": "2026-11-30"}})
        );
        assert_eq!(
            serde_json::to_value(Period::Last30Days).unwrap(),
            "last30_days"
        );
    }
}
