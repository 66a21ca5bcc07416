//! Properties every task accepts, whatever its type.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::plugin::{CommonProperties, Plugin};
use super::retry::Retry;
use crate::duration::Duration;
use crate::property::Property;
use crate::registry::Kind;

/// A task of any type.
pub type Task = Plugin<TaskCommon>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Enterprise worker groups; accepted by the schema so the validator can explain they are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerGroup {
    pub key: Option<String>,
    pub fallback: Option<String>,
}

/// Properties common to all tasks (`io.kestra.core.models.tasks.Task`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskCommon {
    /// Unique identifier of the task in the flow.
    pub id: String,
    /// The fully-qualified type of the task.
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Retry policy applied when the task fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Maximum duration of one attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Property<Duration>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_group: Option<WorkerGroup>,
    /// Minimum level of the logs kept for this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,
    /// A failure of this task ends it in WARNING and the flow goes on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_failure: bool,
    /// A WARNING of this task ends it in SUCCESS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_warning: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_to_file: bool,
    /// Condition rendered before the task starts; a false value skips the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_if: Option<Property<String>>,
}

impl CommonProperties for TaskCommon {
    const KIND: Kind = Kind::Task;

    fn names() -> &'static [&'static str] {
        &[
            "id",
            "type",
            "description",
            "retry",
            "timeout",
            "disabled",
            "workerGroup",
            "logLevel",
            "allowFailure",
            "allowWarning",
            "logToFile",
            "runIf",
        ]
    }
}
