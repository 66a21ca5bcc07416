//! Deprecated conditions on the flow being triggered: FlowCondition, FlowNamespaceCondition.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition;
use crate::property::Property;

/// Deprecated: true when the triggered flow is `namespace`.`flowId`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowCondition {
    pub namespace: String,
    pub flow_id: String,
}
condition!(
    FlowCondition,
    "FlowCondition",
    "io.kestra.core.models.conditions.types.FlowCondition"
);

/// Deprecated: true when the triggered flow is in `namespace` (or below it, with `prefix`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct FlowNamespaceCondition {
    pub namespace: String,
    /// Also match the namespaces below `namespace`; false by default.
    pub prefix: Option<Property<bool>>,
}
condition!(
    FlowNamespaceCondition,
    "FlowNamespaceCondition",
    "io.kestra.core.models.conditions.types.FlowNamespaceCondition"
);
