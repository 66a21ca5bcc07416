//! Properties every trigger and every condition accepts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plugin::{CommonProperties, Plugin};
use super::task::{LogLevel, WorkerGroup};
use crate::registry::Kind;
use crate::state::State;

pub type Trigger = Plugin<TriggerCommon>;
pub type Condition = Plugin<ConditionCommon>;
pub type TaskRunner = Plugin<TaskRunnerCommon>;

/// Properties common to all triggers (`io.kestra.core.models.triggers.AbstractTrigger`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerCommon {
    pub id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Conditions that must all hold for the trigger to start an execution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_group: Option<WorkerGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_to_file: bool,
    /// Disable the trigger once an execution it started ends in one of these states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_after: Vec<State>,
    /// Labels added to the executions this trigger starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Value>,
}

impl CommonProperties for TriggerCommon {
    const KIND: Kind = Kind::Trigger;

    fn names() -> &'static [&'static str] {
        &[
            "id",
            "type",
            "description",
            "conditions",
            "disabled",
            "workerGroup",
            "logLevel",
            "logToFile",
            "stopAfter",
            "labels",
        ]
    }
}

/// Properties common to all trigger conditions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConditionCommon {
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl CommonProperties for ConditionCommon {
    const KIND: Kind = Kind::Condition;

    fn names() -> &'static [&'static str] {
        &["type", "id"]
    }
}

/// Properties common to all task runners.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskRunnerCommon {
    #[serde(rename = "type")]
    pub type_name: String,
}

impl CommonProperties for TaskRunnerCommon {
    const KIND: Kind = Kind::TaskRunner;

    fn names() -> &'static [&'static str] {
        &["type"]
    }
}
