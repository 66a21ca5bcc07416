//! Toggle: enables or disables a trigger.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Enables or disables a trigger of a flow; the current flow by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToggleSpec {
    /// Namespace of the flow; the current one by default.
    pub namespace: Option<String>,
    /// The flow; the current one by default.
    pub flow_id: Option<String>,
    /// The id of the trigger.
    pub trigger: String,
    /// Enable (true) or disable (false) the trigger; false by default.
    pub enabled: Option<Property<bool>>,
}
runnable!(
    ToggleSpec,
    "trigger.Toggle",
    "io.kestra.core.tasks.trigger.Toggle"
);
