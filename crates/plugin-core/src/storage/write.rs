//! Write: writes a string to a new internal storage file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Writes `content` to a new internal storage file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WriteSpec {
    /// The text to write.
    pub content: String,
    /// The extension of the file, e.g. ".json".
    pub extension: Option<String>,
}
runnable!(WriteSpec, "storage.Write");
