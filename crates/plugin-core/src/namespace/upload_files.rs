//! UploadFiles: uploads internal storage files to a namespace's files.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// What UploadFiles does when a namespace file already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Conflict {
    Overwrite,
    Error,
    Skip,
}

/// Uploads files to the namespace files of `namespace`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadFilesSpec {
    pub namespace: String,
    /// Glob patterns of working-directory files to upload.
    pub files: Option<Property<Vec<String>>>,
    /// A mapping of destination path to `kestra://` URI, or an expression giving one.
    pub files_map: Option<Value>,
    /// The folder to upload into; "/" by default.
    pub destination: Option<String>,
    /// OVERWRITE (the default), ERROR or SKIP.
    pub conflict: Option<Property<Conflict>>,
}
runnable!(UploadFilesSpec, "namespace.UploadFiles");
