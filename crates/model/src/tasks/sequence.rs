//! Sequential, Parallel, AllowFailure and the deprecated Template.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::flowable;
use crate::flow::Task;
use crate::property::Property;

/// Runs tasks one after the other.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SequentialSpec {
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(SequentialSpec, "Sequential");

/// Runs tasks at the same time, at most `concurrent` at once (0: no limit).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ParallelSpec {
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub concurrent: Option<Property<u32>>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(ParallelSpec, "Parallel");

/// Runs tasks in order; a failure inside ends this task in WARNING and the flow goes on.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AllowFailureSpec {
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(AllowFailureSpec, "AllowFailure");

/// Deprecated: includes the tasks of a stored template.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    pub namespace: String,
    pub template_id: String,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
}
flowable!(TemplateSpec, "Template");
