//! Set: merges data into a state file.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StateFile;
use crate::runnable;

/// Deprecated: merges `data` into a state file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StateSetSpec {
    #[serde(flatten)]
    pub file: StateFile,
    /// The values to merge into the state.
    pub data: Option<Property<Map<String, Value>>>,
}
runnable!(StateSetSpec, "state.Set", "io.kestra.core.tasks.states.Set");
