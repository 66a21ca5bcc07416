//! Return: renders `format` and returns it as the output `value`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Renders a template and returns it as the output `value`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReturnSpec {
    /// The text to render; becomes `outputs.<id>.value`.
    pub format: Option<String>,
}
runnable!(
    ReturnSpec,
    "debug.Return",
    "io.kestra.core.tasks.debugs.Return"
);
