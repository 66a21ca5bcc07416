//! `io.kestra.plugin.core.flow`: the one runnable task of that package, Sleep. The flowable tasks
//! of the package live in the model crate.

mod sleep;

pub use sleep::SleepSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<SleepSpec>();
}
