//! Count: counts executions of flows and evaluates a condition on each count.

use peregrine_model::Property;
use peregrine_model::state::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// One flow whose executions are counted.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CountedFlow {
    pub namespace: String,
    pub flow_id: String,
}

/// Counts executions between two dates and keeps the flows whose count matches `expression`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountSpec {
    /// The flows to count (or use `namespaces`).
    pub flows: Option<Vec<CountedFlow>>,
    /// Only executions in these states.
    pub states: Option<Property<Vec<State>>>,
    /// ISO-8601 date-time: count executions started after it.
    pub start_date: String,
    /// ISO-8601 date-time: count executions started before it; now by default.
    pub end_date: Option<String>,
    /// A template rendered for each flow with `count`; true keeps the flow in the results.
    pub expression: String,
    /// Count the executions of every flow in these namespaces.
    pub namespaces: Option<Property<Vec<String>>>,
}
runnable!(
    CountSpec,
    "execution.Count",
    "io.kestra.core.tasks.executions.Counts"
);
