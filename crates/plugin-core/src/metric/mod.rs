//! `io.kestra.plugin.core.metric`: publishing custom metrics.

mod publish;

pub use publish::PublishSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<PublishSpec>();
}
