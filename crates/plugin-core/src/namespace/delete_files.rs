//! DeleteFiles: deletes namespace files.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// Deletes the namespace files matching glob patterns.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFilesSpec {
    pub namespace: String,
    /// A glob pattern or a list of them.
    pub files: Value,
    /// Also delete folders left empty; false by default.
    pub delete_parent_folder: Option<Property<bool>>,
}
runnable!(DeleteFilesSpec, "namespace.DeleteFiles");
