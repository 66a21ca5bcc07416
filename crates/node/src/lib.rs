//! The composition root: the one place that decides which plugins and backends exist.

mod catalogue;
mod expressions;

pub use catalogue::catalogue;
pub use expressions::PebbleSyntax;
