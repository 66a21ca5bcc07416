//! Publish: emits custom metrics.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Publishes metrics: each entry has a `type` (`counter` or `timer`), a `name` and a `value`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PublishSpec {
    /// The metrics to publish.
    pub metrics: Option<Property<Vec<Map<String, Value>>>>,
}
runnable!(PublishSpec, "metric.Publish");
