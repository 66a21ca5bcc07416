//! The worker role: runs the runnable task runs the executor sends, at most `slots` at a time,
//! and reports RUNNING then the final state of each attempt.

mod worker;

pub use worker::{Worker, WorkerOptions};
