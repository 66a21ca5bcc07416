//! `io.kestra.plugin.scripts.shell`: shell commands and scripts.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exec::{Body, ScriptTask, run_script};
use crate::script::ScriptProperties;
use crate::script_task;

/// Runs shell commands; `ubuntu` is the default container image.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShellCommandsSpec {
    #[serde(flatten)]
    pub common: ScriptProperties,
    /// The commands, run one after the other by the interpreter.
    #[schemars(length(min = 1))]
    pub commands: Property<Vec<String>>,
}
script_task!(ShellCommandsSpec, "io.kestra.plugin.scripts.shell.Commands");

/// Runs an inline shell script; `ubuntu` is the default container image.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShellScriptSpec {
    #[serde(flatten)]
    pub common: ScriptProperties,
    /// The script's source.
    #[schemars(length(min = 1))]
    pub script: String,
}
script_task!(ShellScriptSpec, "io.kestra.plugin.scripts.shell.Script");

impl RunnableTask for ShellCommandsSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(run_script(
            context,
            ScriptTask {
                common: &self.common,
                body: Body::Commands(&self.commands),
                type_env: &[],
            },
        ))
    }
}

impl RunnableTask for ShellScriptSpec {
    /// Kestra passes the script to the interpreter as it is (`sh -c "<script>"`), no file.
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(run_script(
            context,
            ScriptTask {
                common: &self.common,
                body: Body::Inline(&self.script),
                type_env: &[],
            },
        ))
    }
}
