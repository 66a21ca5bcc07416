//! The executor's decision function, pure: `(flow plan, execution, event, now)` in, new state and
//! effects (worker jobs, timers, logs) out. No I/O, no clock, no threads: the executor service
//! commits the new state, then carries out the effects.
//!
//! - [`plan`]: a flow compiled for execution;
//! - [`state`]: the execution with its indexes and the frames of running flowables;
//! - [`process`](mod@process): the decision function (events here; containers settle in `settle`, task runs
//!   start in `task_runs`, the execution ends in `ending`);
//! - [`progress`]: how far each container has got, kept up to date by `tracker`;
//! - [`frames`]: what each flowable decides when it starts;
//! - [`replay`]: a new execution from an ended one, from a chosen task run;
//! - `for_each_item`: ForEachItem's steps (split, one subflow per batch, merge);
//! - [`variables`]: the expression context of a task run, with only the [`history`] it reads.

mod closing;
pub mod effects;
mod ending;
pub mod executor_tasks;
mod exit;
pub mod expressions;
mod for_each_item;
pub mod frames;
pub mod history;
pub mod inputs;
pub mod plan;
pub mod process;
pub mod progress;
pub mod replay;
pub mod retry;
mod settle;
pub mod start;
pub mod state;
mod task_runs;
mod tracker;
pub mod variables;

pub use effects::{Effect, Event, SubflowEnded, SubflowStart, TaskUpdate, TimerKind, WorkerJob};
pub use expressions::Expressions;
pub use plan::FlowPlan;
pub use process::{Env, process};
pub use start::{NewExecution, ReplayOf, new_execution};
pub use state::ExecutionState;
