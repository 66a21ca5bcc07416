//! The task SDK: a runnable task gets a narrow [`RunContext`] (render, log, cancellation,
//! storage, key-value store, secrets, commands on executions) and returns its outputs. Plugin
//! crates implement [`RunnableTask`] and add a constructor per type to [`Runners`].

mod context;
mod control;
pub mod glob;
mod logs;
pub mod namespace_files;
mod runners;
mod services;

pub use context::{RunContext, TaskError, TaskOutput};
pub use control::{ControlError, ExecutionControl, NoExecutionControl, ResumeRequest};
pub use logs::{LogEntry, LogLevel, LogSink};
pub use runners::{BoxFuture, RunnableTask, Runners, TaskBuilder, from_spec};
pub use services::{NamespaceKv, TaskServices, TaskStorage};
