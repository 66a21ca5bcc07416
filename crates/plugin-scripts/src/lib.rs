//! Script tasks (`io.kestra.plugin.scripts.*`), the deprecated `io.kestra.core.tasks.scripts.*`
//! tasks, and the task runners that run them (`Process`, `Docker`).
//!
//! Every script task shares [`ScriptProperties`] (flattened into its spec) and adds either
//! `commands` or `script`. Properties follow Kestra 0.21 up to 1.1: a property any of those
//! versions accepts is declared.

pub mod docker;
pub mod legacy;
pub mod namespace_files;
pub mod runner;
pub mod script;
pub mod tasks;

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
