//! PurgeKV: deletes keys of the key-value store in bulk.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Deletes keys matching a pattern, in some namespaces, expired ones only by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KvPurgeSpec {
    /// A glob pattern of the keys to delete.
    pub key_pattern: Option<String>,
    pub namespaces: Option<Property<Vec<String>>>,
    /// A glob pattern of the namespaces (instead of `namespaces`).
    pub namespace_pattern: Option<String>,
    /// Delete expired keys only; true by default.
    pub expired_only: Option<Property<bool>>,
    /// Also purge the child namespaces; true by default.
    pub include_child_namespaces: Option<Property<bool>>,
}
runnable!(KvPurgeSpec, "kv.PurgeKV");
