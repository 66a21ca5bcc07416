//! Exit: ends the execution at once in the given state.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// The state an Exit task ends the execution in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExitState {
    Success,
    Warning,
    Killed,
    Failed,
    #[serde(alias = "CANCELLED")]
    Canceled,
}

/// Stops the execution: no further task starts, and it ends in `state`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ExitSpec {
    /// The final state of the execution; SUCCESS by default.
    pub state: Option<Property<ExitState>>,
}
runnable!(ExitSpec, "execution.Exit");
