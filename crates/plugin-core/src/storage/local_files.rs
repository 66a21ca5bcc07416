//! LocalFiles (deprecated, use WorkingDirectory's inputFiles/outputFiles).

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// Deprecated: creates files in the working directory and uploads others to internal storage.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LocalFilesSpec {
    /// Files to create: a mapping of path to content, or an expression giving one.
    pub inputs: Option<Value>,
    /// Glob patterns of the files to upload to internal storage.
    pub outputs: Option<Property<Vec<String>>>,
}
runnable!(
    LocalFilesSpec,
    "storage.LocalFiles",
    "io.kestra.core.tasks.storages.LocalFiles"
);
