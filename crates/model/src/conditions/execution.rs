//! Conditions on the execution that fired a Flow trigger: ExecutionFlow, ExecutionLabels,
//! ExecutionNamespace, ExecutionOutputs, ExecutionStatus, HasRetryAttempt.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition;
use crate::flow::Labels;
use crate::property::Property;
use crate::state::State;

/// True when the execution is of the flow `namespace`.`flowId`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionFlowCondition {
    pub namespace: String,
    pub flow_id: String,
}
condition!(
    ExecutionFlowCondition,
    "ExecutionFlow",
    "io.kestra.core.models.conditions.types.ExecutionFlowCondition",
    "io.kestra.plugin.core.condition.ExecutionFlowCondition"
);

/// True when the execution has all these labels.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionLabelsCondition {
    /// A mapping of key to value, or a list of `{key, value}`.
    pub labels: Labels,
}
condition!(
    ExecutionLabelsCondition,
    "ExecutionLabels",
    "io.kestra.core.models.conditions.types.ExecutionLabelsCondition",
    "io.kestra.plugin.core.condition.ExecutionLabelsCondition"
);

/// How ExecutionNamespace compares namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum NamespaceComparison {
    Equals,
    Prefix,
    Suffix,
}

/// True when the execution's namespace matches `namespace`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionNamespaceCondition {
    pub namespace: String,
    /// EQUALS (the default), PREFIX or SUFFIX.
    pub comparison: Option<Property<NamespaceComparison>>,
    /// Deprecated: same as `comparison: PREFIX`.
    pub prefix: Option<Property<bool>>,
}
condition!(
    ExecutionNamespaceCondition,
    "ExecutionNamespace",
    "io.kestra.core.models.conditions.types.ExecutionNamespaceCondition",
    "io.kestra.plugin.core.condition.ExecutionNamespaceCondition"
);

/// True when `expression`, rendered with the execution's outputs, is true.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionOutputsCondition {
    #[schemars(length(min = 1))]
    pub expression: String,
}
condition!(
    ExecutionOutputsCondition,
    "ExecutionOutputs",
    "io.kestra.core.models.conditions.types.ExecutionOutputsCondition",
    "io.kestra.plugin.core.condition.ExecutionOutputsCondition"
);

/// True when the execution's state is in `in` and not in `notIn`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusCondition {
    #[serde(rename = "in")]
    pub in_states: Option<Property<Vec<State>>>,
    pub not_in: Option<Property<Vec<State>>>,
}
condition!(
    ExecutionStatusCondition,
    "ExecutionStatus",
    "io.kestra.core.models.conditions.types.ExecutionStatusCondition",
    "io.kestra.plugin.core.condition.ExecutionStatusCondition"
);

/// True when a task run of the execution was retried and ended in a state of `in`/not `notIn`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HasRetryAttemptCondition {
    #[serde(rename = "in")]
    pub in_states: Option<Property<Vec<State>>>,
    pub not_in: Option<Property<Vec<State>>>,
}
condition!(
    HasRetryAttemptCondition,
    "HasRetryAttempt",
    "io.kestra.core.models.conditions.types.HasRetryAttemptCondition",
    "io.kestra.plugin.core.condition.HasRetryAttemptCondition"
);
