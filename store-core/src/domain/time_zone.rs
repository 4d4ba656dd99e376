//! The chain's time zone: what "today" is, where the days and hours of charts, receipts and
//! reports begin, and which instant a CSV's timestamp without an offset names. Instants are
//! stored in UTC (`timestamptz`); a zone only decides how they are cut and shown.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
pub use chrono_tz::Tz;

use crate::domain::input::quote;

/// An IANA zone name such as `Europe/Paris`, or an error that says what is expected.
pub fn parse(name: &str) -> Result<Tz, String> {
    let trimmed = name.trim();
    trimmed.parse::<Tz>().map_err(|_| {
        format!(
            "{} is not a time zone: give an IANA name such as Europe/Paris or America/New_York \
             (UTC for none)",
            quote(trimmed)
        )
    })
}

/// The machine's own zone: the `TZ` variable when it names a zone, else the system's setting,
/// else UTC (a machine that says nothing is on UTC).
pub fn machine_zone() -> Tz {
    let from_variable = std::env::var("TZ")
        .ok()
        .and_then(|tz| tz.trim_start_matches(':').parse::<Tz>().ok());
    from_variable
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(Tz::UTC)
}

/// The instant a wall-clock time in `zone` names, by PostgreSQL's rule for the times that name
/// none or two: in a spring-forward gap the offset from before the change applies (02:30 on a
/// night the clocks jump from 02:00 to 03:00 is read as 03:30), in a fall-back overlap the offset
/// from after it (01:30 on a night the clocks go back from 02:00 to 01:00 is the second 01:30).
pub fn local_to_utc(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(_, after_the_change) => after_the_change.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps last hours at most: a day before, the old offset is in force.
            let before = zone
                .offset_from_utc_datetime(&(local - TimeDelta::days(1)))
                .fix();
            (local - TimeDelta::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

/// The first instant of the day `date` in `zone` (not always 00:00 on the clock: a few zones
/// have skipped midnight).
pub fn start_of_date(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    local_to_utc(date.and_hms_opt(0, 0, 0).expect("midnight exists"), zone)
}

/// The first instant of the day that holds `at` in `zone`.
pub fn start_of_day(at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    start_of_date(at.with_timezone(&zone).date_naive(), zone)
}

/// The first instant of the next day in `zone` after the day that starts at `day_start`: 23,
/// 24 or 25 hours later.
pub fn next_day(day_start: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let date = day_start.with_timezone(&zone).date_naive();
    start_of_date(date.succ_opt().unwrap_or(date), zone)
}

/// True when every offset `zone` has had since 2000 is a whole number of hours, so that the
/// UTC hours the counters keep add up to this zone's days exactly. False for zones such as
/// Asia/Kolkata (+05:30) or Australia/Adelaide (+09:30): their days are read from the rows.
pub fn days_are_whole_utc_hours(zone: Tz) -> bool {
    let mut at = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2040, 1, 1, 0, 0, 0).unwrap();
    while at < until {
        if zone
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
            % 3600
            != 0
        {
            return false;
        }
        // Monthly samples catch every offset a zone keeps for more than a month.
        at += TimeDelta::days(30);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn names_are_iana_names() {
        assert_eq!(parse("Europe/Paris"), Ok(Tz::Europe__Paris));
        assert_eq!(parse(" UTC "), Ok(Tz::UTC));
        let refused = parse("Mars/Olympus").unwrap_err();
        assert!(
            refused.starts_with("\"Mars/Olympus\" is not a time zone"),
            "{refused}"
        );
    }

    #[test]
    fn a_spring_forward_day_has_23_hours_and_a_fall_back_day_25() {
        let paris = Tz::Europe__Paris;
        let march_30 = start_of_date(NaiveDate::from_ymd_opt(2025, 3, 30).unwrap(), paris);
        assert_eq!(march_30, utc(2025, 3, 29, 23, 0));
        assert_eq!(next_day(march_30, paris) - march_30, TimeDelta::hours(23));
        let october_26 = start_of_date(NaiveDate::from_ymd_opt(2025, 10, 26).unwrap(), paris);
        assert_eq!(october_26, utc(2025, 10, 25, 22, 0));
        assert_eq!(
            next_day(october_26, paris) - october_26,
            TimeDelta::hours(25)
        );
        // An ordinary day, and the day that holds an instant late in the evening.
        assert_eq!(
            next_day(utc(2025, 6, 1, 22, 0), paris),
            utc(2025, 6, 2, 22, 0)
        );
        assert_eq!(
            start_of_day(utc(2025, 6, 1, 22, 30), paris),
            utc(2025, 6, 1, 22, 0)
        );
        assert_eq!(
            start_of_day(utc(2025, 6, 1, 21, 59), paris),
            utc(2025, 5, 31, 22, 0)
        );
    }

    #[test]
    fn times_in_a_gap_or_an_overlap_follow_postgresql() {
        let new_york = Tz::America__New_York;
        // 2025-03-09 02:30 does not exist in New York: read with EST (-5), it is 03:30 EDT.
        assert_eq!(
            local_to_utc(local(2025, 3, 9, 2, 30), new_york),
            utc(2025, 3, 9, 7, 30)
        );
        // 2025-11-02 01:30 happens twice: the second one, in EST.
        assert_eq!(
            local_to_utc(local(2025, 11, 2, 1, 30), new_york),
            utc(2025, 11, 2, 6, 30)
        );
        assert_eq!(
            local_to_utc(local(2025, 6, 1, 12, 0), new_york),
            utc(2025, 6, 1, 16, 0)
        );
    }

    #[test]
    fn half_hour_zones_are_told_apart() {
        assert!(days_are_whole_utc_hours(Tz::UTC));
        assert!(days_are_whole_utc_hours(Tz::Europe__Paris));
        assert!(days_are_whole_utc_hours(Tz::America__New_York));
        assert!(!days_are_whole_utc_hours(Tz::Asia__Kolkata));
        assert!(!days_are_whole_utc_hours(Tz::Australia__Adelaide));
    }
}
