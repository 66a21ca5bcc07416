//! Acting on executions from a task (`execution.Resume`): a port the worker hands its tasks, so
//! a task never reaches the executor directly. In one process the runtime answers it; a worker in
//! another process gets an implementation that sends the same requests over the wire.

use peregrine_ports::future::BoxFuture;
use serde_json::{Map, Value};

use crate::context::TaskError;

/// Why an execution could not be acted on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    #[error("no execution found for execution id {0}")]
    NotFound(String),
    /// The execution is not in a state that allows it (not paused).
    #[error("{0}")]
    Conflict(String),
    /// The request does not hold (inputs that do not match, a namespace that does not match).
    #[error("{0}")]
    Invalid(String),
    #[error("executions cannot be controlled from this worker: {0}")]
    Unavailable(String),
}

impl From<ControlError> for TaskError {
    fn from(error: ControlError) -> Self {
        TaskError::Failed(error.to_string())
    }
}

/// A paused execution to resume, with values for the `onResume` inputs of its Pause task.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResumeRequest {
    pub execution_id: String,
    /// When set with `flow_id`, the execution must belong to this namespace.
    pub namespace: Option<String>,
    /// When set with `namespace`, the execution must be of this flow.
    pub flow_id: Option<String>,
    /// Values for the `onResume` inputs, typed against them as a resume from the API is.
    pub inputs: Option<Map<String, Value>>,
}

/// Commands a task may give about executions.
pub trait ExecutionControl: Send + Sync {
    /// Resumes a paused execution: its paused task runs run again, the Pause task given the
    /// typed `onResume` values. Resolves once the resume is accepted (the execution goes on
    /// asynchronously); an execution that is not paused is a `Conflict`, values that do not
    /// match the `onResume` inputs are `Invalid`. Not idempotent: a second resume of an
    /// execution that already runs again is a `Conflict`.
    fn resume(&self, request: ResumeRequest) -> BoxFuture<'_, Result<(), ControlError>>;

    /// Ended executions deleted from the store (`execution.PurgeExecutions`): whatever the
    /// executor still keeps of them in memory goes too, so nobody is served them again. Running
    /// executions are left alone.
    fn forget(&self, execution_ids: &[String]) {
        let _ = execution_ids;
    }
}

/// The control of a worker that has no executor to talk to: every request is refused.
#[derive(Debug, Default)]
pub struct NoExecutionControl;

impl ExecutionControl for NoExecutionControl {
    fn resume(&self, request: ResumeRequest) -> BoxFuture<'_, Result<(), ControlError>> {
        let error =
            ControlError::Unavailable(format!("cannot resume execution {}", request.execution_id));
        Box::pin(async move { Err(error) })
    }
}
