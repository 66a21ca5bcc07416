//! `io.kestra.plugin.scripts.node`: Node.js commands and scripts.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exec::{Body, Launcher, ScriptFile, ScriptTask, run_script};
use crate::script::ScriptProperties;
use crate::script_task;

/// Runs commands with Node.js; `node` is the default container image.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct NodeCommandsSpec {
    #[serde(flatten)]
    pub common: ScriptProperties,
    /// The commands, e.g. `node main.js`.
    #[schemars(length(min = 1))]
    pub commands: Property<Vec<String>>,
}
script_task!(NodeCommandsSpec, "io.kestra.plugin.scripts.node.Commands");

/// Runs an inline Node.js script.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct NodeScriptSpec {
    #[serde(flatten)]
    pub common: ScriptProperties,
    /// The script's source.
    #[schemars(length(min = 1))]
    pub script: String,
}
script_task!(NodeScriptSpec, "io.kestra.plugin.scripts.node.Script");

impl RunnableTask for NodeCommandsSpec {
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

impl RunnableTask for NodeScriptSpec {
    /// Writes the script to `<name>.js` in the working directory and runs `node <path>`.
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(run_script(
            context,
            ScriptTask {
                common: &self.common,
                body: Body::File(ScriptFile {
                    source: &self.script,
                    prelude: "",
                    extension: "js",
                    launcher: Launcher::Node,
                }),
                type_env: &[],
            },
        ))
    }
}
