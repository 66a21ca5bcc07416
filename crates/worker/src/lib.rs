//! The worker role: runs the runnable task runs the executor sends, at most `slots` at a time,
//! and reports RUNNING then the final state of each attempt. The tasks of a WorkingDirectory
//! share a folder here (`directory`), whose cache is kept as a zip archive (`archive`); workers
//! of their own hand that folder from one to the next through internal storage (`handover`).

mod archive;
mod directory;
mod handover;
pub mod remote;
mod worker;

pub use remote::{RemoteError, RemoteOptions, RemoteWorker, Reports};
pub use worker::{Worker, WorkerOptions};
