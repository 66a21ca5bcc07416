//! Delete: removes a key from the key-value store.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Removes `key` from a namespace's store.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KvDeleteSpec {
    pub key: String,
    /// The namespace of the store; the flow's by default.
    pub namespace: Option<String>,
    /// Fail when the key does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(KvDeleteSpec, "kv.Delete");
