//! Task runners: where a script task's commands run (`taskRunner`).

mod docker;
mod process;

pub use docker::{DockerRunnerSpec, FileHandlingStrategy};
pub use process::ProcessRunnerSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<ProcessRunnerSpec>();
    registry.register::<DockerRunnerSpec>();
}
