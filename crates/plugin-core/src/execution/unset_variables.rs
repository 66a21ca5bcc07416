//! UnsetVariables: removes execution variables.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Removes variables from the execution.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnsetVariablesSpec {
    /// The names of the variables to remove.
    pub variables: Property<Vec<String>>,
    /// Do not fail when a variable does not exist; false by default.
    pub ignore_missing: Option<Property<bool>>,
}
runnable!(UnsetVariablesSpec, "execution.UnsetVariables");
