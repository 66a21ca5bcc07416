//! `io.kestra.plugin.core.debug`: Return and the deprecated Echo.

mod echo;
mod return_task;

pub use echo::EchoSpec;
pub use return_task::ReturnSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<ReturnSpec>();
    registry.register::<EchoSpec>();
}
