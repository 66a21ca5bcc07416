//! What the scheduler needs from the rest of the system: a clock, and something that starts the
//! execution of a slot and tells what became of it. The composition root implements both.

use std::sync::Arc;

use jiff::Timestamp;
use peregrine_model::Flow;
use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use serde_json::{Map, Value};

/// The time, passed in so tests can choose it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// One slot of one trigger, claimed: the execution to start for it.
#[derive(Debug, Clone)]
pub struct Firing {
    /// Chosen when the slot was claimed and stored with the claim, so starting it again after
    /// a crash starts the same execution.
    pub execution_id: String,
    pub flow: Arc<Flow>,
    pub trigger_id: String,
    /// The slot.
    pub date: Timestamp,
    /// The `trigger` variables: `date`, `next`, `previous`.
    pub variables: Map<String, Value>,
}

/// What became of a firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The execution exists (it was created now, or already was).
    Started,
    /// The trigger's conditions do not hold for this slot: no execution.
    Skipped,
}

/// A firing that could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LaunchError(pub String);

/// Starts the executions of slots and reports on them.
pub trait Launcher: Send + Sync {
    /// A new execution id.
    fn new_id(&self) -> String;

    /// Evaluates the trigger's conditions for the slot and starts its execution, with the id
    /// the firing carries. Idempotent on that id: when the execution exists, nothing happens.
    fn start(&self, firing: Firing) -> BoxFuture<'_, Result<Started, LaunchError>>;

    /// The current state of an execution; `None` when there is no such execution.
    fn state(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<State>, LaunchError>>;
}
