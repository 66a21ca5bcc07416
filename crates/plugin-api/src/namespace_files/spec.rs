//! The `namespaceFiles` property: namespace files copied into the task's working directory.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What to do when a namespace file is already in the working directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum IfExists {
    Overwrite,
    Fail,
    Warn,
    Ignore,
}

/// Which namespace files to copy into the working directory.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceFiles {
    /// Copy the files; true by default.
    pub enabled: Option<Property<bool>>,
    /// Glob patterns of the files to copy; all by default.
    pub include: Option<Property<Vec<String>>>,
    /// Glob patterns of the files not to copy.
    pub exclude: Option<Property<Vec<String>>>,
    /// The namespaces to copy from; the flow's by default.
    pub namespaces: Option<Property<Vec<String>>>,
    /// OVERWRITE (the default), FAIL, WARN or IGNORE.
    pub if_exists: Option<Property<IfExists>>,
    /// Put each namespace's files in a folder named after it; false by default.
    pub folder_per_namespace: Option<Property<bool>>,
}
