//! The composition root: the one place that decides which plugins and backends exist, and wires
//! the roles together.

pub mod backends;
mod catalogue;
mod command_rows;
pub mod conditions;
pub mod config;
pub mod executor_lease;
pub mod executor_partitions;
mod expressions;
pub mod flow_triggers;
pub mod local;
pub mod retention;
pub mod runtime;
pub mod scheduling;
pub mod server;
pub mod webserver_role;
pub mod worker_role;

pub use catalogue::{catalogue, role_of, runners};
pub use expressions::PebbleSyntax;
