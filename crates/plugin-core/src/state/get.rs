//! Get: reads a state file.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StateFile;
use crate::runnable;

/// Deprecated: reads a state file into the output `data`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateGetSpec {
    #[serde(flatten)]
    pub file: StateFile,
    /// Fail when the state does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(StateGetSpec, "state.Get", "io.kestra.core.tasks.states.Get");
