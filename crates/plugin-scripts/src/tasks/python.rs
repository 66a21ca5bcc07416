//! `io.kestra.plugin.scripts.python`: Python commands and scripts.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
