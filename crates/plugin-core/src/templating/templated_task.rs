//! TemplatedTask: renders a task definition, then runs it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Renders `spec` to the YAML of a runnable task and runs that task.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TemplatedTaskSpec {
    /// The YAML definition of a runnable task, rendered before it is read.
    pub spec: String,
}
runnable!(
    TemplatedTaskSpec,
    "templating.TemplatedTask",
    "io.kestra.core.tasks.templating.TemplatedTask"
);
