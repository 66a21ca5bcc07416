//! Executions and task runs as Kestra stores and serves them.

mod execution_doc;
mod state_history;
mod task_run;

pub use execution_doc::{Execution, ExecutionMetadata, ExecutionTrigger};
pub use state_history::{StateEntry, StateHistory};
pub use task_run::{Attempt, TaskRun};
