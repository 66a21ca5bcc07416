//! Split: splits a file into several, by size, count or rows.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Splits a file into several files; set one of `bytes`, `partitions` or `rows`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SplitSpec {
    /// The `kestra://` URI of the file.
    pub from: String,
    /// The maximum size of each file, e.g. "10MB".
    pub bytes: Option<String>,
    /// The number of files to produce.
    pub partitions: Option<Property<i32>>,
    /// The number of lines per file.
    pub rows: Option<Property<i32>>,
    /// The line separator; "\n" by default.
    pub separator: Option<String>,
}
runnable!(
    SplitSpec,
    "storage.Split",
    "io.kestra.core.tasks.storages.Split"
);
