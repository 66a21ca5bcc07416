//! The database's clock, which every lease (a worker's claim, the executor's lease) is measured
//! on: processes sharing the database agree on it whatever their own clocks say.

use std::time::Duration;

/// The database's clock in microseconds since the epoch (the time of the statement, not of its
/// transaction's start).
pub(crate) const NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";

/// A lease's length in microseconds.
pub(crate) fn micros_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}
