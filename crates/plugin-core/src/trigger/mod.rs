//! `io.kestra.plugin.core.trigger`: the Toggle task (the triggers themselves live in the model).

mod toggle;

pub use toggle::ToggleSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<ToggleSpec>();
}

/// Adds the implementations of the trigger tasks.
pub fn runners(runners: &mut peregrine_plugin_api::Runners) {
    use peregrine_model::PluginSpec;
    runners.add(
        ToggleSpec::TYPE,
        peregrine_plugin_api::from_spec::<ToggleSpec>,
    );
}
