//! The executor's durable store: every transition of an execution is committed here, with the
//! messages it causes (the outbox), before anything else sees it.
//!
//! One commit writes only what changed: the execution's header (the execution without its task
//! runs), the task runs and frames the step touched, and outbox rows. So a step costs the same
//! whether the execution has ten task runs or ten thousand.

use peregrine_model::execution::{Execution, TaskRun};
use peregrine_model::log::LogEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::future::BoxFuture;
use crate::partition::Partitions;
use crate::repository::Error;

/// The parent waiting for a subflow execution: its execution id and the task run that started
/// the child.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub execution_id: String,
    pub task_run_id: String,
}

/// What one step changed in one execution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transition {
    pub execution_id: String,
    /// The execution without its task runs (`task_run_list` empty).
    pub header: Option<Execution>,
    /// Task runs added or changed, with their position in the execution's list.
    pub task_runs: Vec<(usize, TaskRun)>,
    /// Task runs removed (a restart), with their frames.
    pub removed: Vec<String>,
    /// Frames (what a running flowable decided) added or changed, by task run id; opaque here.
    pub frames: Vec<(String, Value)>,
    /// The flow's own frame, written once with the first transition.
    pub root: Option<Value>,
    /// Set with the first transition of a subflow execution whose parent waits for it.
    pub parent: Option<ParentLink>,
}

/// A message an execution owes the rest of the system: written in the commit of the transition
/// that causes it, deleted in the commit of whoever consumes it. Keys are unique per execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    pub execution_id: String,
    pub key: String,
    pub payload: Value,
}

/// Everything one commit writes, atomically.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commit {
    pub transitions: Vec<Transition>,
    /// Rows to add (or replace, for the same execution and key).
    pub put: Vec<OutboxRow>,
    /// Rows consumed: (execution id, key).
    pub done: Vec<(String, String)>,
    /// Rows consumed: every row of these executions whose key starts with the prefix.
    pub done_prefix: Vec<(String, String)>,
    pub logs: Vec<LogEntry>,
}

impl Commit {
    /// The partitions (among `count`) of the executions this commit writes, or whose rows it
    /// consumes; rows it puts for executions of other partitions are messages to them.
    pub fn partitions_written(&self, count: u16) -> std::collections::BTreeSet<u16> {
        let transitions = self.transitions.iter().map(|t| t.execution_id.as_str());
        let done = self.done.iter().map(|(id, _)| id.as_str());
        let done_prefix = self.done_prefix.iter().map(|(id, _)| id.as_str());
        transitions
            .chain(done)
            .chain(done_prefix)
            .map(|id| crate::partition::of(id, count))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty()
            && self.put.is_empty()
            && self.done.is_empty()
            && self.done_prefix.is_empty()
            && self.logs.is_empty()
    }
}

/// An execution as the executor needs it back after a restart.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredExecution {
    /// With every task run, in order.
    pub execution: Execution,
    pub frames: Vec<(String, Value)>,
    pub root: Option<Value>,
    pub parent: Option<ParentLink>,
}

/// A backend of the executor's store, which also serves the executions and logs it holds.
pub trait ExecutionBackend:
    ExecutionStore + crate::repository::ExecutionRepository + crate::repository::LogRepository
{
}

impl<T> ExecutionBackend for T where
    T: ExecutionStore + crate::repository::ExecutionRepository + crate::repository::LogRepository
{
}

/// The executor's durable store. Contract: `commit` is atomic and durable when it returns;
/// `unfinished` returns every execution of `partitions` whose last committed state is not
/// terminal; `outbox` returns every row of `partitions` put and not yet done (a row's partition
/// is its execution's).
pub trait ExecutionStore: Send + Sync {
    /// Shared so a caller can try a refused commit again without copying it.
    fn commit(&self, commit: std::sync::Arc<Commit>) -> BoxFuture<'_, Result<(), Error>>;
    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>>;
    fn unfinished<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<StoredExecution>, Error>>;
    fn outbox<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>>;
    /// How many partitions executions are spread over (see [`crate::partition`]).
    fn partition_count(&self) -> u16 {
        crate::partition::DEFAULT_COUNT
    }
}
