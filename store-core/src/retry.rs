//! The one retry policy of the programs: waits that double from a first one up to a longest.

use std::time::Duration;

/// Waits between tries that double from `first` up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub const fn new(first: Duration, max: Duration) -> RetryPolicy {
        RetryPolicy { first, max }
    }

    /// The wait after `failures` failures in a row: `first` after the first one (and for 0),
    /// twice as long after each further one, never more than `max`.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1);
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy =
        RetryPolicy::new(Duration::from_millis(250), Duration::from_secs(2));

    #[test]
    fn waits_double_from_the_first_and_stop_at_the_longest() {
        let waits: Vec<u128> = (0..=6).map(|n| POLICY.delay(n).as_millis()).collect();
        assert_eq!(waits, [250, 250, 500, 1000, 2000, 2000, 2000]);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        assert_eq!(POLICY.delay(40), Duration::from_secs(2));
        assert_eq!(POLICY.delay(u32::MAX), Duration::from_secs(2));
    }
}
