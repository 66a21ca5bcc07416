//! `io.kestra.plugin.core.kv`: the namespace key-value store.

mod delete;
mod get;
mod get_keys;
mod purge_kv;
mod set;

pub use delete::KvDeleteSpec;
pub use get::KvGetSpec;
pub use get_keys::KvGetKeysSpec;
pub use purge_kv::KvPurgeSpec;
pub use set::{KvSetSpec, KvType};

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<KvSetSpec>();
    registry.register::<KvGetSpec>();
    registry.register::<KvGetKeysSpec>();
    registry.register::<KvDeleteSpec>();
    registry.register::<KvPurgeSpec>();
}

/// The namespace a kv task works on: `namespace` rendered, else the flow's.
fn namespace(
    context: &peregrine_plugin_api::RunContext,
    namespace: Option<&str>,
) -> Result<String, peregrine_plugin_api::TaskError> {
    match namespace {
        Some(template) => context.render(template),
        None => Ok(context.task_run.namespace.clone()),
    }
}

/// A boolean property, `default` when absent.
fn flag(
    context: &peregrine_plugin_api::RunContext,
    name: &str,
    property: Option<&peregrine_model::Property<bool>>,
    default: bool,
) -> Result<bool, peregrine_plugin_api::TaskError> {
    property.map_or(Ok(default), |property| {
        context.render_property(name, property)
    })
}
