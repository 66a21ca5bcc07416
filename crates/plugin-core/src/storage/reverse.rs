//! Reverse: reverses the order of the lines of a file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Writes the lines of a file in reverse order to a new file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReverseSpec {
    /// The `kestra://` URI of the file.
    pub from: String,
    /// The line separator; "\n" by default.
    pub separator: Option<String>,
    /// The file's charset; UTF-8 by default.
    pub charset: Option<String>,
}
runnable!(
    ReverseSpec,
    "storage.Reverse",
    "io.kestra.core.tasks.storages.Reverse"
);
