//! The executor's decision function, pure: `(flow plan, execution, event, now)` in, new state and
//! effects (worker jobs, timers, logs) out. No I/O, no clock, no threads: the executor service
//! commits the new state, then carries out the effects.
//!
//! - [`plan`]: a flow compiled for execution;
//! - [`state`]: the execution with its indexes and the frames of running flowables;
//! - [`process`]: the decision function;
//! - [`frames`]: what each flowable decides when it starts;
//! - [`variables`]: the expression context of a task run.

pub mod effects;
pub mod executor_tasks;
pub mod expressions;
pub mod frames;
pub mod inputs;
pub mod plan;
pub mod process;
pub mod retry;
pub mod start;
pub mod state;
pub mod variables;

pub use effects::{Effect, Event, SubflowEnded, SubflowStart, TaskUpdate, TimerKind, WorkerJob};
pub use expressions::Expressions;
pub use plan::FlowPlan;
pub use process::{Env, process};
pub use start::{NewExecution, ReplayOf, new_execution};
pub use state::ExecutionState;
