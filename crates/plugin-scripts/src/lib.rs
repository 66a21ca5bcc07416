//! Script tasks (`io.kestra.plugin.scripts.*`), the deprecated `io.kestra.core.tasks.scripts.*`
//! tasks, and the task runners that run them (`Process`, `Docker`).
//!
//! Every script task shares [`ScriptProperties`] (flattened into its spec) and adds either
//! `commands` or `script`. Properties follow Kestra 0.21 up to 1.1: a property any of those
//! versions accepts is declared.
//!
//! # Running
//!
//! [`runners`] adds the shell, Python and Node `Commands`/`Script` tasks and the deprecated Bash
//! task. They all run with the Process task runner (`io.kestra.plugin.core.runner.Process`):
//!
//! - There is no container engine on the worker. A task naming another `taskRunner` (Docker...),
//!   the deprecated `runner: DOCKER`, or a `containerImage`/`docker` without a Process runner
//!   still runs, as a local process, after a WARN log that the container is ignored.
//! - Each attempt gets a fresh working directory (`$TMPDIR/peregrine/<unique>`, removed at the
//!   end), with an output folder inside; `WORKING_DIR`/`OUTPUT_DIR` and `{{ workingDir }}`/
//!   `{{ outputDir }}` name them (plain references only: see `exec/locals.rs`). `namespaceFiles`
//!   are copied there first (`exec/namespace_files.rs`), then `inputFiles` are written (a
//!   `kestra://` value is downloaded), and `kestra://` URIs in the commands or script are
//!   replaced by local copies. Python `dependencies` are not installed yet (WARN).
//! - The command line is `interpreter... "set -e\n<beforeCommands>\n<commands>"` (`set -e`
//!   when `failFast`, the default). Python and Node `Script` write the script to a file and run it.
//! - stdout lines are INFO logs, stderr lines ERROR logs, as they come; `::{"outputs": ...}::`
//!   lines feed `vars`. Outputs: `vars`, `exitCode`, `outputFiles` (the files matching the
//!   `outputFiles` patterns and those under the output folder, uploaded to internal storage; the
//!   Bash task adds `stdOutLineCount`, `stdErrLineCount` and `files`). A non-zero exit fails the task with
//!   `Command failed with exit code N`. stderr output makes the task WARNING only when
//!   `warningOnStdErr: true` is written (Kestra's behaviour before 0.23).
//! - Kill or timeout: the process group gets SIGTERM, then SIGKILL after [`KILL_GRACE_PERIOD`].

pub mod docker;
mod exec;
pub mod legacy;
pub mod namespace_files;
pub mod runner;
pub mod script;
pub mod tasks;

pub use exec::KILL_GRACE_PERIOD;
pub use script::{PackageManager, PythonProperties, RunnerType, ScriptProperties, TargetOs};

use peregrine_model::Registry;

/// Declares a runnable script task with its full type name and aliases.
macro_rules! script_task {
    ($spec:ty, $name:literal $(, $alias:literal)*) => {
        impl peregrine_model::PluginSpec for $spec {
            const KIND: peregrine_model::Kind = peregrine_model::Kind::Task;
            const TYPE: &'static str = $name;
            const ALIASES: &'static [&'static str] = &[$($alias),*];
            const ROLE: peregrine_model::Role = peregrine_model::Role::Runnable;
        }
    };
}
pub(crate) use script_task;

/// Adds every script task and task runner to the catalogue.
pub fn register(registry: &mut Registry) {
    tasks::register(registry);
    legacy::register(registry);
    runner::register(registry);
}

/// Adds the implementations of the script tasks this build can run.
pub fn runners(runners: &mut peregrine_plugin_api::Runners) {
    use peregrine_model::PluginSpec;
    use peregrine_plugin_api::from_spec;
    use tasks::{
        NodeCommandsSpec, NodeScriptSpec, PythonCommandsSpec, PythonScriptSpec, ShellCommandsSpec,
        ShellScriptSpec,
    };
    runners.add(ShellCommandsSpec::TYPE, from_spec::<ShellCommandsSpec>);
    runners.add(ShellScriptSpec::TYPE, from_spec::<ShellScriptSpec>);
    runners.add(PythonCommandsSpec::TYPE, from_spec::<PythonCommandsSpec>);
    runners.add(PythonScriptSpec::TYPE, from_spec::<PythonScriptSpec>);
    runners.add(NodeCommandsSpec::TYPE, from_spec::<NodeCommandsSpec>);
    runners.add(NodeScriptSpec::TYPE, from_spec::<NodeScriptSpec>);
    runners.add(legacy::BashSpec::TYPE, from_spec::<legacy::BashSpec>);
}
