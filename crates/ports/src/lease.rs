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

/// The partitions an executor holds, each at the epoch of its acquisition: what the commits of
/// a store fenced with it check (see [`PartitionLeases::fence_partitions`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionFence {
    pub owner: String,
    pub epochs: std::collections::BTreeMap<u16, u64>,
}

impl PartitionFence {
    /// Why a commit writing in `touched` is refused before reading any lease: a partition not
    /// held at all.
    pub fn refuse_unheld(&self, touched: &std::collections::BTreeSet<u16>) -> Option<String> {
        let foreign = touched.iter().find(|p| !self.epochs.contains_key(p))?;
        Some(format!(
            "fenced: executor {} does not hold partition {foreign}",
            self.owner
        ))
    }

    /// Why a commit is refused given the lease row of one of its partitions as read in its
    /// transaction (its holder and epoch), if it is.
    pub fn refuse(&self, partition: u16, owner: Option<&str>, epoch: u64) -> Option<String> {
        let expected = self.epochs.get(&partition).copied();
        if owner == Some(self.owner.as_str()) && Some(epoch) == expected {
            return None;
        }
        Some(format!(
            "fenced: partition {partition} is now at epoch {epoch} ({}); executor {} held epoch {}",
            owner.unwrap_or("given up"),
            self.owner,
            expected.unwrap_or_default()
        ))
    }
}

/// A partition and its holder, when its lease is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub partition: u16,
    pub owner: Option<String>,
}

/// The leases of partitions, when executors share the load (docs/adr/0004). Contract: a
/// partition has at most one holder at a time; it is free once its holder's lease has expired
/// (measured on the store's clock) or was released; each acquisition of a partition returns an
/// epoch greater than every earlier one of that partition. Members are the executors that said
/// they live within their `ttl`.
pub trait PartitionLeases: Send + Sync {
    /// Says `owner` lives until `ttl` from now; returns every live member, sorted, `owner`
    /// included.
    fn join<'a>(
        &'a self,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>>;

    /// Removes `owner` from the members at once (a graceful stop).
    fn leave<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Every partition, in order, with its holder while its lease is live.
    fn holders(&self) -> BoxFuture<'_, Result<Vec<Holder>, Error>>;

    /// Takes `partition` for `owner` until `ttl` from now when it is free or expired; returns
    /// its new epoch, or `None` while another owner holds it. When `owner` holds it already, it
    /// is extended and keeps its epoch.
    fn acquire_partition<'a>(
        &'a self,
        owner: &'a str,
        partition: u16,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, Error>>;

    /// Extends to `ttl` from now the leases `fence` holds; returns the partitions it still
    /// holds (one taken over after expiry is lost).
    fn renew_partitions<'a>(
        &'a self,
        fence: &'a PartitionFence,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u16>, Error>>;

    /// Gives `partition` up if `owner` holds it at `epoch`, so another may take it at once.
    fn release_partition<'a>(
        &'a self,
        owner: &'a str,
        partition: u16,
        epoch: u64,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// From now on every commit through this store (and its clones) checks, in its
    /// transaction, that `fence` still holds the partition of every execution it writes or
    /// whose rows it consumes, and is refused with [`Error::Conflict`] otherwise. Rows it puts
    /// for executions of other partitions are messages to them, not checked.
    fn fence_partitions(&self, fence: PartitionFence);
}
