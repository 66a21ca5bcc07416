//! PurgeLogs: deletes logs matching a filter.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Level;
use crate::runnable;

/// Deletes the logs of a namespace, flow or execution written before `endDate`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurgeLogsSpec {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    pub execution_id: Option<String>,
    /// Only logs of these levels.
    pub log_levels: Option<Property<Vec<Level>>>,
    /// ISO-8601 date-time: only logs written after it.
    pub start_date: Option<String>,
    /// ISO-8601 date-time: only logs written before it.
    pub end_date: String,
}
runnable!(PurgeLogsSpec, "log.PurgeLogs");
