//! Fail: fails the execution, optionally only when a condition holds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Fails the task (and so the execution), when `condition` renders to true or always.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailSpec {
    /// A template; the task fails only when it renders to `true`.
    pub condition: Option<String>,
    /// The error message; "Task failure" by default.
    pub error_message: Option<String>,
}
runnable!(
    FailSpec,
    "execution.Fail",
    "io.kestra.core.tasks.executions.Fail"
);
