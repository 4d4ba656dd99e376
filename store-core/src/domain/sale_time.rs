//! When a sale may have happened: the one rule shared by the checkout (`record_purchase`), the
//! CHECK constraint on `purchase.created_at` and the seeder.
//!
//! A sale time must be finite, not before [`EARLIEST`], and not more than [`MAX_AHEAD`] after
//! the database's (or the seeder's) clock: a till's clock may run a little fast, and an offline
//! sale may legitimately be days old, but nothing is sold in the future or before the chain
//! existed. The CHECK constraint cannot read the clock (constraints must be immutable), so it
//! keeps every other path inside the fixed window [`EARLIEST`, [`CONSTRAINT_LATEST`]).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

/// The earliest plausible sale: 2000-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()
}

/// The CHECK constraint's fixed upper bound (exclusive): 2100-01-01T00:00:00Z.
pub fn constraint_latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()
}

/// How far after "now" a sale time may be.
pub const MAX_AHEAD: TimeDelta = TimeDelta::minutes(5);

/// `Ok` when `t` is a plausible sale time at `now`; else a message that says why not.
pub fn check(t: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if t < earliest() {
        return Err(format!(
            "sale time {} is before {} (not a plausible sale time)",
            t.to_rfc3339(),
            earliest().to_rfc3339()
        ));
    }
    if t > now + MAX_AHEAD {
        return Err(format!(
            "sale time {} is more than {} minutes in the future",
            t.to_rfc3339(),
            MAX_AHEAD.num_minutes()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_from_2000_to_a_few_minutes_ahead() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert!(check(earliest(), now).is_ok());
        assert!(check(earliest() - TimeDelta::seconds(1), now).is_err());
        assert!(check(now - TimeDelta::days(30), now).is_ok());
        assert!(check(now + MAX_AHEAD, now).is_ok());
        assert!(check(now + MAX_AHEAD + TimeDelta::seconds(1), now).is_err());
    }
}
