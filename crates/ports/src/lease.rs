//! The executor's lease: when several executor processes share a database, one holds the lease
//! and runs executions; the others wait to take it over. Each acquisition raises an epoch, and a
//! store fenced with (owner, epoch) checks it inside every commit's transaction, so an executor
//! that stalled past its lease (and was replaced) has its late writes refused.

use std::time::Duration;

use crate::future::BoxFuture;
use crate::repository::Error;

/// Who holds the lease, and since which acquisition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub owner: String,
    pub epoch: u64,
}

/// The lease port. Contract: at most one owner holds the lease at a time; it is free once its
/// holder's lease has expired (measured on the store's clock) or was released; each acquisition
/// returns an epoch greater than every earlier one.
pub trait ExecutorLease: Send + Sync {
    /// Takes the lease for `owner` until `ttl` from now when it is free or expired; returns the
    /// new epoch, or `None` while another owner holds it. When `owner` holds it already, it is
    /// extended and keeps its epoch.
    fn acquire<'a>(
        &'a self,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, Error>>;

    /// Extends the lease to `ttl` from now if `fence` still holds it; false when it was lost.
    fn renew<'a>(&'a self, fence: &'a Fence, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>>;

    /// Gives the lease up if `fence` holds it, so another owner may take it at once.
    fn release<'a>(&'a self, fence: &'a Fence) -> BoxFuture<'a, Result<(), Error>>;

    /// From now on every commit through this store (and its clones) checks, in its transaction,
    /// that `fence` still holds the lease, and is refused with [`Error::Conflict`] otherwise.
    fn fence_commits(&self, fence: Fence);
}
