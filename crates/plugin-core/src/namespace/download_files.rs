//! DownloadFiles: copies namespace files to internal storage.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// Downloads namespace files matching glob patterns; they become the output `files`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct DownloadFilesSpec {
    pub namespace: String,
    /// A glob pattern or a list of them.
    pub files: Value,
    /// The folder the files are placed in; the root by default.
    pub destination: Option<String>,
}
runnable!(DownloadFilesSpec, "namespace.DownloadFiles");
