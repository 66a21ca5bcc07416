//! The plugin catalogue of this build: the model's core types plus every plugin crate compiled in.

use peregrine_model::Registry;

/// Builds the catalogue with every plugin enabled by this build's features.
pub fn catalogue() -> Registry {
    let mut registry = peregrine_model::core_registry();
    #[cfg(feature = "plugin-core")]
    peregrine_plugin_core::register(&mut registry);
    #[cfg(feature = "plugin-scripts")]
    peregrine_plugin_scripts::register(&mut registry);
    registry
}
