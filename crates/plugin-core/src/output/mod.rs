//! `io.kestra.plugin.core.output`: publishing outputs.

mod output_values;

pub use output_values::OutputValuesSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<OutputValuesSpec>();
}
