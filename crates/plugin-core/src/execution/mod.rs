//! `io.kestra.plugin.core.execution`: tasks acting on executions.

mod assert;
mod count;
mod exit;
mod fail;
mod labels;
mod purge_executions;
mod resume;
mod set_variables;
mod unset_variables;

pub use assert::AssertSpec;
pub use count::{CountSpec, CountedFlow};
pub use exit::{ExitSpec, ExitState};
pub use fail::FailSpec;
pub use labels::{LabelsSpec, LabelsValue};
pub use purge_executions::PurgeExecutionsSpec;
pub use resume::ResumeSpec;
pub use set_variables::SetVariablesSpec;
pub use unset_variables::UnsetVariablesSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<FailSpec>();
    registry.register::<ExitSpec>();
    registry.register::<LabelsSpec>();
    registry.register::<ResumeSpec>();
    registry.register::<CountSpec>();
    registry.register::<PurgeExecutionsSpec>();
    registry.register::<AssertSpec>();
    registry.register::<SetVariablesSpec>();
    registry.register::<UnsetVariablesSpec>();
}
