//! The flow document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::input::Input;
use super::labels::Labels;
use super::parts::{Concurrency, Listener, Output, PluginDefault, Sla};
use super::retry::Retry;
use super::task::Task;
use super::trigger::Trigger;
use crate::duration::Duration;

/// A Kestra flow: what runs, in which order, with which inputs, started by which triggers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    /// The flow identifier, unique in its namespace.
    pub id: String,
    /// Dot-separated namespace, e.g. `company.team`.
    pub namespace: String,
    /// Assigned by the server on each change.
    #[schemars(range(min = 1))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "labels_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Input>,
    /// Values available to expressions as `vars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
    /// The tasks, run in order.
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    /// Tasks run when a task of the flow fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Task>,
    /// Tasks run at the end whatever happened, while the execution is still running.
    #[serde(default, rename = "finally", skip_serializing_if = "Vec::is_empty")]
    pub finally_tasks: Vec<Task>,
    /// Tasks run once the execution has reached its final state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_execution: Vec<Task>,
    /// Deprecated: use `afterExecution` or a Flow trigger.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Output>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugin_defaults: Vec<PluginDefault>,
    /// Deprecated spelling of `pluginDefaults`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_defaults: Vec<PluginDefault>,
    /// Retry policy for the whole execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// The longest an execution may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla: Vec<Sla>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

fn labels_empty(labels: &Labels) -> bool {
    labels.0.is_empty()
}

impl Flow {
    /// `namespace.id`, as Kestra names a flow in messages.
    pub fn uid(&self) -> String {
        format!("{}.{}", self.namespace, self.id)
    }

    /// Every task group at the top of the flow (tasks, errors, finally, afterExecution, listeners).
    pub fn top_level_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks
            .iter()
            .chain(&self.errors)
            .chain(&self.finally_tasks)
            .chain(&self.after_execution)
            .chain(self.listeners.iter().flat_map(|listener| &listener.tasks))
    }

    /// Plugin defaults, the current and the deprecated key together.
    pub fn all_plugin_defaults(&self) -> impl Iterator<Item = &PluginDefault> {
        self.plugin_defaults.iter().chain(&self.task_defaults)
    }
}
