//! `io.kestra.plugin.core.trigger`: the Toggle task (the triggers themselves live in the model).

mod toggle;

pub use toggle::ToggleSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<ToggleSpec>();
}
