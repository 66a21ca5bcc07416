//! The composition root: the one place that decides which plugins and backends exist, and wires
//! the roles together.

mod catalogue;
mod expressions;
pub mod local;
pub mod runtime;

pub use catalogue::{catalogue, role_of, runners};
pub use expressions::PebbleSyntax;
