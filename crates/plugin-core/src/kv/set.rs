//! Set: stores a value in the key-value store.

use peregrine_model::{Duration, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// The type a stored value is read back as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum KvType {
    String,
    Number,
    Boolean,
    Datetime,
    Date,
    Duration,
    Json,
}

/// Stores `value` under `key` in a namespace's key-value store.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KvSetSpec {
    pub key: String,
    /// The value to store: a string, a number, a mapping... or an expression.
    pub value: Value,
    /// A description kept with the key.
    pub kv_description: Option<String>,
    /// The namespace of the store; the flow's by default.
    pub namespace: Option<String>,
    /// Replace an existing value; true by default.
    pub overwrite: Option<Property<bool>>,
    /// How long the value is kept.
    pub ttl: Option<Property<Duration>>,
    /// The type of the value; guessed from it by default.
    pub kv_type: Option<Property<KvType>>,
}
runnable!(KvSetSpec, "kv.Set");
