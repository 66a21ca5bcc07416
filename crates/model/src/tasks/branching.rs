//! Switch and If.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::flowable;
use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::flow::Task;
use crate::property::Property;

/// Runs the tasks of the case matching `value`, or `defaults`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SwitchSpec {
    /// Rendered, then compared with the case keys.
    pub value: Property<String>,
    #[serde(default)]
    pub cases: IndexMap<String, Vec<Task>>,
    #[serde(default)]
    pub defaults: Vec<Task>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(SwitchSpec, "Switch"; check = check_switch);

fn check_switch(context: &mut CheckContext<'_>) {
    if context.is_empty("cases") && context.is_empty("defaults") {
        let pos = context.node.span.start;
        context.report(
            Code::InvalidFlowable,
            pos,
            None,
            "impossible: No task defined, neither cases or default have any tasks",
        );
    }
}

/// Runs `then` when the condition is true, `else` otherwise.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct IfSpec {
    pub condition: Property<String>,
    #[schemars(length(min = 1))]
    pub then: Vec<Task>,
    #[serde(default, rename = "else")]
    pub else_tasks: Vec<Task>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(IfSpec, "If");
