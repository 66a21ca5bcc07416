//! Assert: fails when any of its conditions renders to false.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Checks conditions and fails the task when one of them is false.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssertSpec {
    /// Templates that must all render to `true`.
    pub conditions: Vec<String>,
    /// The message used when a condition is false.
    pub error_message: Option<String>,
}
runnable!(AssertSpec, "execution.Assert");
