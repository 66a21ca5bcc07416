//! `io.kestra.plugin.scripts.python`: Python commands and scripts.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, LogLevel, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::exec::{Body, Launcher, ScriptFile, ScriptTask, run_script};
use crate::script::{PythonProperties, ScriptProperties};
use crate::script_task;

/// Runs commands in a Python environment; a `python:*-slim` image by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PythonCommandsSpec {
    #[serde(flatten)]
    pub common: ScriptProperties,
    #[serde(flatten)]
    pub python: PythonProperties,
    /// The commands, e.g. `python main.py`.
    #[schemars(length(min = 1))]
    pub commands: Property<Vec<String>>,
}
script_task!(
    PythonCommandsSpec,
    "io.kestra.plugin.scripts.python.Commands"
);

/// Runs an inline Python script.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PythonScriptSpec {
    #[serde(flatten)]
    pub common: ScriptProperties,
    #[serde(flatten)]
    pub python: PythonProperties,
    /// The script's source.
    #[schemars(length(min = 1))]
    pub script: String,
}
script_task!(PythonScriptSpec, "io.kestra.plugin.scripts.python.Script");

/// What Kestra's Python tasks add to the environment.
const PYTHON_ENV: &[(&str, &str)] = &[
    ("PYTHONUNBUFFERED", "true"),
    ("PIP_ROOT_USER_ACTION", "ignore"),
    ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
];

/// Put before the script so that rendered JSON literals (`x = {{ flag }}` gives `true`) are valid
/// Python, as Kestra does; left out when the script has `from __future__` imports, which must
/// come first.
const PYTHON_PRELUDE: &str = "true = True\nfalse = False\nnull = None\n";

impl RunnableTask for PythonCommandsSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            warn_dependencies(context, &self.python);
            run_script(
                context,
                ScriptTask {
                    common: &self.common,
                    body: Body::Commands(&self.commands),
                    type_env: PYTHON_ENV,
                },
            )
            .await
        })
    }
}

impl RunnableTask for PythonScriptSpec {
    /// Writes the script to `<name>.py` in the working directory and runs it with the active
    /// virtualenv's `python`, else `python3` (or `python`) from the PATH.
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            warn_dependencies(context, &self.python);
            let prelude = if self.script.contains("from __future__") {
                ""
            } else {
                PYTHON_PRELUDE
            };
            run_script(
                context,
                ScriptTask {
                    common: &self.common,
                    body: Body::File(ScriptFile {
                        source: &self.script,
                        prelude,
                        extension: "py",
                        launcher: Launcher::Python,
                    }),
                    type_env: PYTHON_ENV,
                },
            )
            .await
        })
    }
}

/// Installing `dependencies` (Kestra uses uv or pip) is not done by this worker yet.
fn warn_dependencies(context: &RunContext, python: &PythonProperties) {
    if python.dependencies.is_some() {
        context.log(
            LogLevel::Warn,
            "dependencies are not installed on this worker yet: install them in beforeCommands \
             (e.g. pip install ...)",
        );
    }
}
