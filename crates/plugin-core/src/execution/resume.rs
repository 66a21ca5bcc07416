//! Resume: resumes a paused execution.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Resumes a paused execution; the current one by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumeSpec {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// The execution to resume; the current one by default.
    pub execution_id: Option<String>,
    /// Values for the `onResume` inputs of the Pause task.
    pub inputs: Option<Property<Map<String, Value>>>,
}
runnable!(ResumeSpec, "execution.Resume");
