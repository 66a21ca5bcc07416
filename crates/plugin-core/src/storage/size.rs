//! Size: the size of an internal storage file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Returns the size in bytes of an internal storage file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SizeSpec {
    /// The `kestra://` URI of the file.
    pub uri: String,
}
runnable!(
    SizeSpec,
    "storage.Size",
    "io.kestra.core.tasks.storages.Size"
);
