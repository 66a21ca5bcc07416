//! `io.kestra.plugin.core.templating`: tasks defined by a template.

mod definition;
mod templated_task;

pub use templated_task::TemplatedTaskSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<TemplatedTaskSpec>();
}
