//! Delete: removes a state file.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StateFile;
use crate::runnable;

/// Deprecated: deletes a state file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateDeleteSpec {
    #[serde(flatten)]
    pub file: StateFile,
    /// Fail when the state does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(
    StateDeleteSpec,
    "state.Delete",
    "io.kestra.core.tasks.states.Delete"
);
