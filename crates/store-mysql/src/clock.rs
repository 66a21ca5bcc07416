//! The database's clock, which every lease is measured on: processes sharing the database
//! agree on it whatever their own clocks say.

use std::time::Duration;

/// The database's clock in microseconds since the epoch: UTC arithmetic, so no time zone (nor
/// its daylight saving changes) comes in. Constant within a statement.
pub(crate) const NOW: &str = "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', UTC_TIMESTAMP(6))";

/// Leases are capped at about a century, so `now + lease` fits a `BIGINT`.
const LONGEST_LEASE_MICROS: u128 = 100 * 366 * 24 * 3600 * 1_000_000;

/// A lease's length in microseconds, capped.
pub(crate) fn micros(lease: Duration) -> i64 {
    i64::try_from(lease.as_micros().min(LONGEST_LEASE_MICROS)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_fit_a_bigint() {
        assert_eq!(micros(Duration::from_millis(1500)), 1_500_000);
        assert!(micros(Duration::MAX) < i64::MAX / 2);
    }
}
