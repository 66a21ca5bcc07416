//! GetKeys: lists the keys of the key-value store.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Lists the keys of a namespace's store, optionally only those starting with `prefix`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KvGetKeysSpec {
    pub prefix: Option<String>,
    /// The namespace of the store; the flow's by default.
    pub namespace: Option<String>,
}
runnable!(KvGetKeysSpec, "kv.GetKeys");
