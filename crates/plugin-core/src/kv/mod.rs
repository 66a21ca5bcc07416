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
