//! WorkingDirectory: runnable tasks run one after the other on one worker, in one folder.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flowable;
use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::duration::Duration;
use crate::flow::Task;
use crate::registry::Role;

/// Files kept between executions.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WorkingDirectoryCache {
    pub patterns: Vec<String>,
    #[serde(default)]
    pub ttl: Option<Duration>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkingDirectorySpec {
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub cache: Option<WorkingDirectoryCache>,
    /// Files to create in the folder: a mapping of name to content, or an expression.
    #[serde(default)]
    pub input_files: Option<Value>,
    /// Glob patterns of files to upload to internal storage at the end.
    #[serde(default)]
    pub output_files: Option<Vec<String>>,
    #[serde(default)]
    pub namespace_files: Option<Value>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(WorkingDirectorySpec, "WorkingDirectory"; check = check_working_directory);

fn check_working_directory(context: &mut CheckContext<'_>) {
    if context.is_empty("tasks") {
        let pos = context.pos_of("tasks");
        context.report(
            Code::InvalidFlowable,
            pos,
            Some("tasks"),
            "impossible: The 'tasks' property cannot be empty",
        );
        return;
    }
    let children = context.task_list("tasks");
    let flowable: Vec<_> = children
        .iter()
        .enumerate()
        .filter(|(_, child)| context.role_of(child) == Some(Role::Flowable))
        .map(|(index, child)| (index, child.span.start))
        .collect();
    for (index, pos) in flowable {
        let path = context.path.key("tasks").index(index);
        context.diagnostics.push(
            Code::InvalidFlowable,
            pos,
            &path,
            "impossible: Only runnable tasks are allowed as children of a WorkingDirectory task",
        );
    }
}
