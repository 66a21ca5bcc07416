//! Sleep: waits for a duration (a runnable task, despite its package).

use peregrine_model::{Duration, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Pauses the task for `duration`, then succeeds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SleepSpec {
    /// How long to wait, as an ISO-8601 duration.
    pub duration: Property<Duration>,
}
runnable!(SleepSpec, "flow.Sleep");
