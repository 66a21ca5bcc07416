//! The composition root: the one place that decides which plugins and backends exist.

mod catalogue;

pub use catalogue::catalogue;
