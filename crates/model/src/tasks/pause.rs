//! Pause and LoopUntil (formerly WaitFor).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::flowable;
use crate::duration::Duration;
use crate::flow::{Input, Task};
use crate::property::Property;

/// Pauses the execution until resumed, for `delay`, or until `timeout` fails it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PauseSpec {
    /// Resume by itself after this long.
    #[serde(default)]
    pub delay: Option<Property<Duration>>,
    /// Newer spelling of `delay`.
    #[serde(default)]
    pub pause_duration: Option<Property<Duration>>,
    /// Fail if not resumed within this long.
    #[serde(default)]
    pub timeout: Option<Property<Duration>>,
    /// What to do when the pause duration is over: RESUME, WARN, FAIL or CANCEL.
    #[serde(default)]
    pub behavior: Option<Property<String>>,
    /// Inputs asked for when resuming; they become the outputs of this task.
    #[serde(default)]
    pub on_resume: Vec<Input>,
    /// Deprecated: tasks run after the pause.
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub errors: Vec<Task>,
}
flowable!(PauseSpec, "Pause");

/// How often and how long LoopUntil checks its condition.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckFrequency {
    #[serde(default)]
    pub max_iterations: Option<Property<u32>>,
    #[serde(default)]
    pub max_duration: Option<Property<Duration>>,
    #[serde(default)]
    pub interval: Option<Property<Duration>>,
}

/// Runs the tasks again and again until the condition is true.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoopUntilSpec {
    pub condition: Property<String>,
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub fail_on_max_reached: Option<Property<bool>>,
    #[serde(default)]
    pub check_frequency: Option<CheckFrequency>,
    #[serde(default)]
    pub errors: Vec<Task>,
}
flowable!(
    LoopUntilSpec,
    "LoopUntil",
    "io.kestra.plugin.core.flow.WaitFor",
    "io.kestra.core.tasks.flows.WaitFor"
);
