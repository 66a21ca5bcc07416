//! Concat: concatenates internal storage files into one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// Concatenates files of the internal storage into a new file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConcatSpec {
    /// The files: a list of `kestra://` URIs, or an expression giving a JSON list.
    pub files: Value,
    /// Written between two files.
    pub separator: Option<String>,
    /// The extension of the new file; ".tmp" by default.
    pub extension: Option<String>,
}
runnable!(
    ConcatSpec,
    "storage.Concat",
    "io.kestra.core.tasks.storages.Concat"
);
