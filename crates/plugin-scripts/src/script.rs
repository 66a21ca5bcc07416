//! The properties every script task accepts (Kestra's `AbstractExecScript`).

use std::collections::BTreeMap;

use peregrine_model::Property;
use peregrine_model::flow::TaskRunner;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::docker::DockerOptions;
use crate::namespace_files::NamespaceFiles;

/// The operating system the commands are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetOs {
    Linux,
    Windows,
    Auto,
}

/// Deprecated: where a script runs (use `taskRunner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunnerType {
    Process,
    Docker,
}

/// Properties shared by every script task; flattened into each spec.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptProperties {
    /// Where the commands run: a task runner such as Process or Docker; Docker by default.
    pub task_runner: Option<TaskRunner>,
    /// The image used by container task runners.
    pub container_image: Option<String>,
    /// Commands run before the main ones, e.g. to install dependencies.
    pub before_commands: Option<Property<Vec<String>>>,
    /// Environment variables for the commands.
    pub env: Option<Property<BTreeMap<String, String>>>,
    /// The interpreter the commands are passed to; `["/bin/sh", "-c"]` by default.
    pub interpreter: Option<Property<Vec<String>>>,
    /// Deprecated: end in WARNING when something is written to stderr.
    pub warning_on_std_err: Option<Property<bool>>,
    /// Stop at the first failing command (`set -e`); true by default.
    pub fail_fast: Option<Property<bool>>,
    /// Namespace files to copy into the working directory.
    pub namespace_files: Option<NamespaceFiles>,
    /// Files to create: a mapping of path to content, or an expression giving one.
    pub input_files: Option<Value>,
    /// Glob patterns of the files to upload to internal storage at the end.
    pub output_files: Option<Property<Vec<String>>>,
    /// Deprecated: upload every file written under `{{ outputDir }}`.
    pub output_directory: Option<Property<bool>>,
    /// LINUX, WINDOWS or AUTO (the default).
    #[serde(rename = "targetOS")]
    pub target_os: Option<Property<TargetOs>>,
    /// Deprecated: PROCESS or DOCKER; use `taskRunner`.
    pub runner: Option<Property<RunnerType>>,
    /// Deprecated: container settings; use `taskRunner` and `containerImage`.
    pub docker: Option<DockerOptions>,
}

/// The Python package installer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PackageManager {
    Uv,
    Pip,
}

/// Properties of the Python script tasks, besides the common ones.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PythonProperties {
    /// Python packages to install before running.
    pub dependencies: Option<Property<Vec<String>>>,
    /// The Python version to use, e.g. "3.12".
    pub python_version: Option<String>,
    /// Cache the installed dependencies between runs; true by default.
    pub dependency_cache_enabled: Option<Property<bool>>,
    /// UV (the default) or PIP.
    pub package_manager: Option<Property<PackageManager>>,
}
