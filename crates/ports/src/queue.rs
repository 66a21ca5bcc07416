//! The outbox as a queue between processes: when the roles run in separate processes, workers
//! claim the executor's `job:` rows from the store, and the executor reads back the `result:`
//! rows the workers write.
//!
//! A claim is a lease: the row stays in the outbox (the executor deletes it in the commit that
//! ends its task run), marked with the worker holding it until an instant of the database's
//! clock. A worker renews its leases while it lives; once a lease has expired another worker may
//! claim the row again, and `claims` tells it that an earlier attempt was lost. Putting a row
//! again (a retry's new job) clears its claim.

use std::time::Duration;

use crate::future::BoxFuture;
use crate::repository::Error;
use crate::store::OutboxRow;

/// The prefix whose waiters [`OutboxQueue::kill`] wakes.
pub const KILLS: &str = "kill:";

/// Worker jobs: a runnable task run to run, put by the executor, claimed by workers.
pub const JOBS: &str = "job:";

/// Task updates from a worker, put by the worker, consumed by the executor's commit that
/// applies them.
pub const RESULTS: &str = "result:";

/// Commands on executions from other processes (a task on a worker resuming an execution),
/// put by them, consumed by the executor.
pub const COMMANDS: &str = "command:";

/// The key of a worker job.
pub fn job_key(task_run_id: &str) -> String {
    format!("{JOBS}{task_run_id}")
}

/// The key of a task update: one per task run, attempt and state, so a report sent twice is
/// stored once.
pub fn result_key(task_run_id: &str, attempt: u32, state: &str) -> String {
    format!("{RESULTS}{task_run_id}:{attempt}:{state}")
}

/// A row claimed by a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Claimed {
    pub row: OutboxRow,
    /// How many times the row has been claimed since it was put, this claim included: more than
    /// one means an earlier holder's lease expired (it died, or stopped without handing it back).
    pub claims: u32,
    /// The execution was killed: report the task killed instead of running it.
    pub killed: bool,
}

/// A row a worker still holds after renewing its leases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub execution_id: String,
    pub key: String,
    pub killed: bool,
}

/// The queue port over the executor's outbox. Contract: a row is held by at most one worker
/// at a time (until its lease expires); `claim` never waits on rows another transaction holds;
/// leases are measured on the store's clock, so workers on other hosts need not agree on time.
pub trait OutboxQueue: Send + Sync {
    /// Claims up to `limit` rows whose key starts with `prefix`, not held or whose lease has
    /// expired, oldest first, for `worker` until `lease` from now.
    fn claim<'a>(
        &'a self,
        prefix: &'a str,
        worker: &'a str,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>>;

    /// Extends every lease `worker` holds to `lease` from now; returns the rows it still holds
    /// (a row consumed by the executor or claimed by another worker after expiry is gone).
    fn renew<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Held>, Error>>;

    /// Hands rows back: they may be claimed again at once (counted as a lost attempt).
    fn release<'a>(
        &'a self,
        worker: &'a str,
        rows: Vec<(String, String)>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Marks every row of an execution whose key starts with `prefix` as killed.
    fn kill<'a>(
        &'a self,
        execution_id: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Up to `limit` rows of `partitions` whose key starts with `prefix`, oldest first,
    /// claimed or not.
    fn rows<'a>(
        &'a self,
        prefix: &'a str,
        partitions: &'a crate::partition::Partitions,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>>;

    /// Returns when rows with `prefix` may have been put since the last call returned (a
    /// notification from the commit that put them, or the backend's polling interval), or after
    /// `timeout`. `kill` wakes the waiters of [`KILLS`]. A notification that arrives while
    /// nobody waits is kept for the next call, so a caller that claims, then waits, misses
    /// nothing. One waiter per prefix and process is expected.
    fn wait<'a>(&'a self, prefix: &'a str, timeout: Duration) -> BoxFuture<'a, ()>;
}
