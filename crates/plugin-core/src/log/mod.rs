//! `io.kestra.plugin.core.log`: writing, fetching and purging execution logs.

mod fetch;
mod log_task;
mod purge_logs;

pub use fetch::FetchSpec;
pub use log_task::{Level, LogSpec};
pub use purge_logs::PurgeLogsSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<LogSpec>();
    registry.register::<FetchSpec>();
    registry.register::<PurgeLogsSpec>();
}
