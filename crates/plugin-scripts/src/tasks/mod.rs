//! The script tasks: `io.kestra.plugin.scripts.{shell,python,node}.{Commands,Script}`.

mod node;
mod python;
mod shell;

pub use node::{NodeCommandsSpec, NodeScriptSpec};
pub use python::{PythonCommandsSpec, PythonScriptSpec};
pub use shell::{ShellCommandsSpec, ShellScriptSpec};

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<ShellCommandsSpec>();
    registry.register::<ShellScriptSpec>();
    registry.register::<PythonCommandsSpec>();
    registry.register::<PythonScriptSpec>();
    registry.register::<NodeCommandsSpec>();
    registry.register::<NodeScriptSpec>();
}
