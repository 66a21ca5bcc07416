//! Labels: adds or overwrites labels of the current execution.

use peregrine_model::flow::Labels;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// The labels to set: written out, or a string (a JSON object, or an expression giving labels).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LabelsValue {
    Labels(Labels),
    Text(String),
}

/// Sets labels on the current execution.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LabelsSpec {
    /// A mapping of key to value, a list of `{key, value}`, or a string holding a JSON object.
    pub labels: LabelsValue,
}
runnable!(
    LabelsSpec,
    "execution.Labels",
    "io.kestra.core.tasks.executions.Labels"
);
