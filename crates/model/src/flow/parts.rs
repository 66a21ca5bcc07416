//! The smaller top-level parts of a flow: concurrency, outputs, plugin defaults, SLA, listeners.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::input::InputType;
use super::labels::Labels;
use super::task::Task;
use super::trigger::Condition;
use crate::duration::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConcurrencyBehavior {
    /// Wait until a running execution ends.
    #[default]
    Queue,
    /// End the new execution as CANCELLED.
    Cancel,
    /// End the new execution as FAILED.
    Fail,
}

/// How many executions of the flow may run at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Concurrency {
    #[schemars(range(min = 1))]
    pub limit: u32,
    #[serde(default)]
    pub behavior: ConcurrencyBehavior,
}

/// A flow output, rendered when the execution ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub id: String,
    #[serde(rename = "type")]
    pub output_type: InputType,
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// Default property values for every task, trigger or condition of a type (or type prefix).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PluginDefault {
    #[serde(rename = "type")]
    pub type_name: String,
    /// When true, these values replace the ones written on the task.
    #[serde(default)]
    pub forced: bool,
    pub values: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlaType {
    MaxDuration,
    ExecutionAssertion,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SlaBehavior {
    #[default]
    Fail,
    Cancel,
    None,
}

/// A service-level agreement checked on each execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sla {
    pub id: String,
    #[serde(rename = "type")]
    pub sla_type: SlaType,
    #[serde(default)]
    pub behavior: SlaBehavior,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// MAX_DURATION: the longest an execution may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// EXECUTION_ASSERTION: an expression that must be true.
    #[serde(default, rename = "assert", skip_serializing_if = "Option::is_none")]
    pub assertion: Option<String>,
}

/// Deprecated: tasks run after the execution ends when the conditions hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Listener {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
}
