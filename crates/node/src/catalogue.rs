//! The plugin catalogue of this build: the model's core types plus every plugin crate compiled in,
//! and the implementations of the task types this build can run.

use peregrine_model::{Kind, Registry, Role};
use peregrine_plugin_api::Runners;

/// Builds the catalogue with every plugin enabled by this build's features.
pub fn catalogue() -> Registry {
    let mut registry = peregrine_model::core_registry();
    #[cfg(feature = "plugin-core")]
    peregrine_plugin_core::register(&mut registry);
    #[cfg(feature = "plugin-scripts")]
    peregrine_plugin_scripts::register(&mut registry);
    registry
}

/// The runnable task implementations of this build.
pub fn runners() -> Runners {
    let mut runners = Runners::default();
    #[cfg(feature = "plugin-core")]
    peregrine_plugin_core::runners(&mut runners);
    #[cfg(feature = "plugin-scripts")]
    peregrine_plugin_scripts::runners(&mut runners);
    runners
}

/// How the engine runs a task type, from the catalogue (unknown types count as runnable, so the
/// worker reports them as not runnable on this build).
pub fn role_of(registry: &Registry, type_name: &str) -> Role {
    registry
        .lookup(Kind::Task, type_name)
        .map_or(Role::Runnable, |entry| entry.role)
}
