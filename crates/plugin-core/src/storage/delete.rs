//! Delete: deletes a file of the internal storage.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Deletes one internal storage file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageDeleteSpec {
    /// The `kestra://` URI of the file.
    pub uri: String,
    /// Fail when the file does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(
    StorageDeleteSpec,
    "storage.Delete",
    "io.kestra.core.tasks.storages.Delete"
);
