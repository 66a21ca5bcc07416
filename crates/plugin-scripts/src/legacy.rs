//! The deprecated `io.kestra.core.tasks.scripts.*` tasks (Kestra's `AbstractBash` family): Bash,
//! Python and Node, replaced by the `io.kestra.plugin.scripts.*` tasks.

use std::collections::BTreeMap;

use peregrine_model::{Property, Registry};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::docker::DockerOptions;
use crate::script::RunnerType;
use crate::script_task;

/// Properties shared by the deprecated script tasks.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyScriptProperties {
    /// PROCESS (the default) or DOCKER.
    pub runner: Option<Property<RunnerType>>,
    /// Container settings when `runner` is DOCKER.
    pub docker_options: Option<DockerOptions>,
    /// The interpreter; "/bin/sh" by default.
    pub interpreter: Option<String>,
    /// Arguments of the interpreter; `["-c"]` by default.
    pub interpreter_args: Option<Vec<String>>,
    /// Stop at the first failing command; true by default.
    pub exit_on_failed: Option<Property<bool>>,
    /// Deprecated: use `outputFiles`.
    pub files: Option<Property<Vec<String>>>,
    /// Deprecated: use `outputFiles`.
    pub outputs_files: Option<Property<Vec<String>>>,
    /// Names of the files to upload to internal storage at the end.
    pub output_files: Option<Property<Vec<String>>>,
    /// Deprecated: folders whose files are uploaded at the end.
    pub output_dirs: Option<Property<Vec<String>>>,
    /// Files to create: a mapping of path to content, or an expression giving one.
    pub input_files: Option<Value>,
    pub env: Option<Property<BTreeMap<String, String>>>,
    /// End in WARNING when something is written to stderr.
    pub warning_on_std_err: Option<Property<bool>>,
}

/// Deprecated: runs shell commands; use `io.kestra.plugin.scripts.shell.Commands`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct BashSpec {
    #[serde(flatten)]
    pub common: LegacyScriptProperties,
    #[schemars(length(min = 1))]
    pub commands: Vec<String>,
}
script_task!(BashSpec, "io.kestra.core.tasks.scripts.Bash");

/// Deprecated: runs Python in a virtualenv; use `io.kestra.plugin.scripts.python.*`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyPythonSpec {
    #[serde(flatten)]
    pub common: LegacyScriptProperties,
    /// The Python binary; "python" by default.
    pub python_path: Option<String>,
    /// Arguments passed to the script.
    pub args: Option<Vec<String>>,
    /// Packages installed with pip before running.
    pub requirements: Option<Vec<String>>,
    /// The commands; `["./bin/python main.py"]` by default.
    pub commands: Option<Vec<String>>,
    /// Create a virtualenv; true by default.
    pub virtual_env: Option<bool>,
    /// PIP (the default here) or UV.
    pub package_manager: Option<Property<crate::PackageManager>>,
}
script_task!(LegacyPythonSpec, "io.kestra.core.tasks.scripts.Python");

/// Deprecated: runs Node.js; use `io.kestra.plugin.scripts.node.*`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyNodeSpec {
    #[serde(flatten)]
    pub common: LegacyScriptProperties,
    /// The node binary; "node" by default.
    pub node_path: Option<String>,
    /// The npm binary; "npm" by default.
    pub npm_path: Option<String>,
    /// Arguments passed to the script.
    pub args: Option<Property<Vec<String>>>,
}
script_task!(LegacyNodeSpec, "io.kestra.core.tasks.scripts.Node");

pub fn register(registry: &mut Registry) {
    registry.register::<BashSpec>();
    registry.register::<LegacyPythonSpec>();
    registry.register::<LegacyNodeSpec>();
}

impl peregrine_plugin_api::RunnableTask for BashSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(crate::exec::run_bash(context, &self.common, &self.commands))
    }
}
