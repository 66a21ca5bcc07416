//! A store that counts its commits and the time spent in them, around any other: what share of
//! a run the database takes, and how many transitions a commit carries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use peregrine_model::execution::Execution;
use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::partition::Partitions;
use peregrine_ports::repository::{
    Error, ExecutionQuery, ExecutionRepository, LogPaging, LogQuery, LogRepository, Page,
    PurgeQuery, PurgedExecution,
};
use peregrine_ports::store::{
    Commit, ExecutionBackend, ExecutionStore, OutboxRow, StoredExecution,
};

/// What the commits of a run cost, read with [`TimedStore::totals`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitTotals {
    pub commits: u64,
    pub transitions: u64,
    pub time: Duration,
}

impl CommitTotals {
    /// The totals since `earlier`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            commits: self.commits - earlier.commits,
            transitions: self.transitions - earlier.transitions,
            time: self.time.saturating_sub(earlier.time),
        }
    }
}

/// Counts commits around `inner`; everything else is passed through.
pub struct TimedStore {
    inner: Arc<dyn ExecutionBackend>,
    commits: AtomicU64,
    transitions: AtomicU64,
    nanos: AtomicU64,
}

impl TimedStore {
    pub fn new(inner: Arc<dyn ExecutionBackend>) -> Self {
        Self {
            inner,
            commits: AtomicU64::new(0),
            transitions: AtomicU64::new(0),
            nanos: AtomicU64::new(0),
        }
    }

    pub fn totals(&self) -> CommitTotals {
        CommitTotals {
            commits: self.commits.load(Ordering::Relaxed),
            transitions: self.transitions.load(Ordering::Relaxed),
            time: Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
        }
    }
}

impl ExecutionStore for TimedStore {
    fn commit(&self, commit: Arc<Commit>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let transitions = commit.transitions.len() as u64;
            let start = Instant::now();
            let result = self.inner.commit(commit).await;
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.transitions.fetch_add(transitions, Ordering::Relaxed);
            self.nanos.fetch_add(nanos, Ordering::Relaxed);
            result
        })
    }

    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>> {
        self.inner.load(execution_id)
    }

    fn unfinished<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<StoredExecution>, Error>> {
        self.inner.unfinished(partitions)
    }

    fn outbox<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        self.inner.outbox(partitions)
    }

    fn partition_count(&self) -> u16 {
        self.inner.partition_count()
    }
}

impl ExecutionRepository for TimedStore {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        self.inner.get(id)
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        self.inner.search(query)
    }

    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        self.inner.delete(id)
    }

    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        ExecutionRepository::purge(&*self.inner, query, limit, logs)
    }
}

impl LogRepository for TimedStore {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        self.inner.append(entries)
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        self.inner.find(query)
    }

    fn page(
        &self,
        query: &LogQuery,
        paging: LogPaging,
    ) -> BoxFuture<'_, Result<Page<LogEntry>, Error>> {
        self.inner.page(query, paging)
    }

    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>> {
        self.inner.delete_execution(execution_id)
    }

    fn purge(
        &self,
        query: &LogQuery,
        levels: Vec<LogLevel>,
    ) -> BoxFuture<'_, Result<usize, Error>> {
        LogRepository::purge(&*self.inner, query, levels)
    }
}
