//! SetVariables: sets execution variables.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Adds variables to the execution, seen by the following tasks as `vars`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SetVariablesSpec {
    /// The variables to set.
    pub variables: Property<Map<String, Value>>,
    /// Replace a variable that already exists; true by default.
    pub overwrite: Option<Property<bool>>,
}
runnable!(SetVariablesSpec, "execution.SetVariables");
