//! Fetch: copies the logs of an execution to an internal storage file.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Level;
use crate::runnable;

/// Fetches execution logs into a file; the current execution's by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FetchSpec {
    /// Namespace of the execution to fetch (with `flowId` and `executionId`).
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// The execution to fetch; the current one by default.
    pub execution_id: Option<String>,
    /// Only the logs of these task ids.
    pub tasks_id: Option<Property<Vec<String>>>,
    /// The minimum level of the logs fetched; INFO by default.
    pub level: Option<Property<Level>>,
}
runnable!(FetchSpec, "log.Fetch", "io.kestra.core.tasks.log.Fetch");
