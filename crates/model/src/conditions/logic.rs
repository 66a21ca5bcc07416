//! Conditions combining others or an expression: Expression, Not, Or.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition;
use crate::flow::Condition;

/// True when `expression` renders to true.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExpressionCondition {
    #[schemars(length(min = 1))]
    pub expression: String,
}
condition!(
    ExpressionCondition,
    "Expression",
    "io.kestra.core.models.conditions.types.VariableCondition",
    "io.kestra.plugin.core.condition.ExpressionCondition"
);

/// True when none of the conditions is true.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct NotCondition {
    #[schemars(length(min = 1))]
    pub conditions: Vec<Condition>,
}
condition!(
    NotCondition,
    "Not",
    "io.kestra.core.models.conditions.types.NotCondition",
    "io.kestra.plugin.core.condition.NotCondition"
);

/// True when at least one of the conditions is true.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct OrCondition {
    #[schemars(length(min = 1))]
    pub conditions: Vec<Condition>,
}
condition!(
    OrCondition,
    "Or",
    "io.kestra.core.models.conditions.types.OrCondition",
    "io.kestra.plugin.core.condition.OrCondition"
);
