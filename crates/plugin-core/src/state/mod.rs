//! `io.kestra.plugin.core.state` (deprecated, use `kv`): JSON state files kept between executions.

mod delete;
mod get;
mod set;

pub use delete::StateDeleteSpec;
pub use get::StateGetSpec;
pub use set::StateSetSpec;

use peregrine_model::{Property, Registry};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which state file a state task reads or writes.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateFile {
    /// The name of the state file; "default" by default.
    pub name: Option<String>,
    /// Share the state with the whole namespace instead of the flow; false by default.
    pub namespace: Option<Property<bool>>,
    /// Keep one state per `taskrun.value` (inside loops); true by default.
    pub taskrun_value: Option<Property<bool>>,
}

pub fn register(registry: &mut Registry) {
    registry.register::<StateSetSpec>();
    registry.register::<StateGetSpec>();
    registry.register::<StateDeleteSpec>();
}
