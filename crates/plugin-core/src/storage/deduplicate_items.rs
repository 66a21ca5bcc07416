//! DeduplicateItems: removes duplicate rows of an ION file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Keeps the last row for each key of an ION file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct DeduplicateItemsSpec {
    /// The `kestra://` URI of the ION file.
    pub from: String,
    /// A template rendered for each row, giving its deduplication key.
    pub expr: String,
}
runnable!(
    DeduplicateItemsSpec,
    "storage.DeduplicateItems",
    "io.kestra.core.tasks.storages.DeduplicateItems"
);
