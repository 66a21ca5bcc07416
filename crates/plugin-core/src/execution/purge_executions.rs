//! PurgeExecutions: deletes executions, and their logs, metrics and files.

use peregrine_model::Property;
use peregrine_model::state::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Deletes ended executions of a namespace or flow, started before `endDate`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurgeExecutionsSpec {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// ISO-8601 date-time: only executions started after it.
    pub start_date: Option<String>,
    /// ISO-8601 date-time: only executions started before it.
    pub end_date: String,
    /// Only executions in these states.
    pub states: Option<Property<Vec<State>>>,
    /// Delete the executions themselves; true by default.
    pub purge_execution: Option<Property<bool>>,
    /// Delete their logs; true by default.
    pub purge_log: Option<Property<bool>>,
    /// Delete their metrics; true by default.
    pub purge_metric: Option<Property<bool>>,
    /// Delete their internal storage files; true by default.
    pub purge_storage: Option<Property<bool>>,
}
runnable!(
    PurgeExecutionsSpec,
    "execution.PurgeExecutions",
    "io.kestra.core.tasks.storages.Purge",
    "io.kestra.plugin.core.storage.Purge"
);
