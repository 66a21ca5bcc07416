//! Executions, their outbox and their logs in memory: the executor's store of throw-away runs,
//! and the repositories the API reads them from.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use peregrine_model::execution::{Execution, TaskRun};
use peregrine_model::log::{LogEntry, LogLevel};
use serde_json::Value;

use crate::future::BoxFuture;
use crate::partition::{DEFAULT_COUNT, Partitions};
use crate::repository::{
    Error, ExecutionQuery, ExecutionRepository, LogPaging, LogQuery, LogRepository, Page,
    PurgeQuery, PurgedExecution,
};
use crate::store::{Commit, ExecutionStore, OutboxRow, ParentLink, StoredExecution, Transition};
use crate::wakeups::Wakeups;

use super::outbox::Outbox;

#[derive(Default)]
struct Stored {
    header: Option<Execution>,
    /// Task runs by id, with their position.
    runs: HashMap<String, (usize, TaskRun)>,
    frames: HashMap<String, Value>,
    root: Option<Value>,
    parent: Option<ParentLink>,
}

impl Stored {
    fn apply(&mut self, transition: &Transition) {
        if let Some(header) = &transition.header {
            self.header = Some(header.clone());
        }
        for id in &transition.removed {
            self.runs.remove(id);
            self.frames.remove(id);
        }
        for (position, run) in &transition.task_runs {
            self.runs.insert(run.id.clone(), (*position, run.clone()));
        }
        self.frames.extend(transition.frames.iter().cloned());
        if transition.root.is_some() {
            self.root.clone_from(&transition.root);
        }
        if transition.parent.is_some() {
            self.parent.clone_from(&transition.parent);
        }
    }

    fn execution(&self) -> Option<Execution> {
        let mut execution = self.header.clone()?;
        let mut runs: Vec<&(usize, TaskRun)> = self.runs.values().collect();
        runs.sort_by_key(|(position, _)| *position);
        execution.task_run_list = runs.into_iter().map(|(_, run)| run.clone()).collect();
        Some(execution)
    }

    fn stored(&self) -> Option<StoredExecution> {
        Some(StoredExecution {
            execution: self.execution()?,
            frames: self
                .frames
                .iter()
                .map(|(id, frame)| (id.clone(), frame.clone()))
                .collect(),
            root: self.root.clone(),
            parent: self.parent.clone(),
        })
    }
}

#[derive(Default)]
pub(super) struct Inner {
    executions: HashMap<String, Stored>,
    pub(super) outbox: Outbox,
    logs: Vec<LogEntry>,
}

/// The in-memory [`ExecutionStore`], also serving executions and logs to the API, and its
/// outbox as a [`crate::queue::OutboxQueue`] between the roles of one process.
#[derive(Default)]
pub struct MemoryExecutions {
    inner: Mutex<Inner>,
    pub(super) wakeups: Wakeups,
}

impl MemoryExecutions {
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn lock(&self) -> Result<MutexGuard<'_, Inner>, Error> {
        self.inner
            .lock()
            .map_err(|_| Error::Backend("the execution store is poisoned".into()))
    }

    fn commit_now(&self, commit: &Commit) -> Result<(), Error> {
        let mut inner = self.lock()?;
        for transition in &commit.transitions {
            inner
                .executions
                .entry(transition.execution_id.clone())
                .or_default()
                .apply(transition);
        }
        for (execution_id, key) in &commit.done {
            inner.outbox.remove(execution_id, key);
        }
        for (execution_id, prefix) in &commit.done_prefix {
            inner
                .outbox
                .retain(|id, key| id != execution_id || !key.starts_with(prefix.as_str()));
        }
        for row in &commit.put {
            inner.outbox.put(row);
        }
        inner.logs.extend(commit.logs.iter().cloned());
        drop(inner);
        self.wakeups
            .notify_keys(commit.put.iter().map(|row| row.key.as_str()));
        Ok(())
    }
}

impl ExecutionStore for MemoryExecutions {
    fn commit(&self, commit: std::sync::Arc<Commit>) -> BoxFuture<'_, Result<(), Error>> {
        let result = self.commit_now(&commit);
        Box::pin(async move { result })
    }

    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>> {
        let result = self
            .lock()
            .map(|inner| inner.executions.get(execution_id).and_then(Stored::stored));
        Box::pin(async move { result })
    }

    fn unfinished<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<StoredExecution>, Error>> {
        let result = self.lock().map(|inner| {
            inner
                .executions
                .iter()
                .filter(|(id, _)| partitions.hold(id, DEFAULT_COUNT))
                .map(|(_, stored)| stored)
                .filter(|stored| {
                    stored
                        .header
                        .as_ref()
                        .is_some_and(|header| !header.state.is_terminated())
                })
                .filter_map(Stored::stored)
                .collect()
        });
        Box::pin(async move { result })
    }

    fn outbox<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        let result = self.lock().map(|inner| {
            let mut rows = inner.outbox.all();
            rows.retain(|row| partitions.hold(&row.execution_id, DEFAULT_COUNT));
            rows
        });
        Box::pin(async move { result })
    }
}

impl ExecutionRepository for MemoryExecutions {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        let result = self
            .lock()
            .map(|inner| inner.executions.get(id).and_then(Stored::execution));
        Box::pin(async move { result })
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        let result = self.lock().map(|inner| {
            let mut found: Vec<&Stored> = inner
                .executions
                .values()
                .filter(|stored| {
                    stored
                        .header
                        .as_ref()
                        .is_some_and(|header| query.matches(header))
                })
                .collect();
            found.sort_by_key(|stored| {
                let header = stored.header.as_ref();
                (
                    Reverse(header.and_then(|header| header.state.started())),
                    header.map(|header| header.id.clone()),
                )
            });
            let size = query.size.max(1);
            Page {
                total: found.len(),
                results: found
                    .into_iter()
                    .skip(query.page.saturating_sub(1).saturating_mul(size))
                    .take(size)
                    .filter_map(Stored::execution)
                    .collect(),
            }
        });
        Box::pin(async move { result })
    }

    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let result = self.lock().map(|mut inner| {
            inner.outbox.retain(|execution_id, _| execution_id != id);
            inner.executions.remove(id).is_some()
        });
        Box::pin(async move { result })
    }

    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        let result = self.lock().map(|mut inner| {
            let mut found: Vec<(Option<jiff::Timestamp>, PurgedExecution)> = inner
                .executions
                .values()
                .filter_map(|stored| stored.header.as_ref())
                .filter(|header| query.matches(header))
                .map(|header| {
                    let purged = PurgedExecution {
                        id: header.id.clone(),
                        namespace: header.namespace.clone(),
                        flow_id: header.flow_id.clone(),
                    };
                    (header.state.started(), purged)
                })
                .collect();
            // Oldest started first.
            found.sort_by(|(a, a_id), (b, b_id)| (a, &a_id.id).cmp(&(b, &b_id.id)));
            found.truncate(limit);
            let purged: Vec<PurgedExecution> =
                found.into_iter().map(|(_, purged)| purged).collect();
            let ids: std::collections::HashSet<&str> = purged
                .iter()
                .map(|execution| execution.id.as_str())
                .collect();
            inner.executions.retain(|id, _| !ids.contains(id.as_str()));
            inner
                .outbox
                .retain(|execution_id, _| !ids.contains(execution_id));
            if logs {
                inner
                    .logs
                    .retain(|line| !ids.contains(line.execution_id.as_str()));
            }
            purged
        });
        Box::pin(async move { result })
    }
}

impl LogRepository for MemoryExecutions {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        let result = self.lock().map(|mut inner| inner.logs.extend(entries));
        Box::pin(async move { result })
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        let result = self.lock().map(|inner| {
            inner
                .logs
                .iter()
                .filter(|line| query.matches(line))
                .cloned()
                .collect()
        });
        Box::pin(async move { result })
    }

    fn page(
        &self,
        query: &LogQuery,
        paging: LogPaging,
    ) -> BoxFuture<'_, Result<Page<LogEntry>, Error>> {
        let result = self.lock().map(|inner| {
            let found: Vec<&LogEntry> = inner
                .logs
                .iter()
                .filter(|line| query.matches(line))
                .collect();
            let total = found.len();
            let skip = paging.page.saturating_sub(1).saturating_mul(paging.size);
            let ordered: Box<dyn Iterator<Item = &&LogEntry>> = if paging.oldest_first {
                Box::new(found.iter())
            } else {
                Box::new(found.iter().rev())
            };
            let results = ordered
                .skip(skip)
                .take(paging.size)
                .map(|line| (*line).clone())
                .collect();
            Page { results, total }
        });
        Box::pin(async move { result })
    }

    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>> {
        let result = self.lock().map(|mut inner| {
            let before = inner.logs.len();
            inner.logs.retain(|line| line.execution_id != execution_id);
            before - inner.logs.len()
        });
        Box::pin(async move { result })
    }

    fn purge(
        &self,
        query: &LogQuery,
        levels: Vec<LogLevel>,
    ) -> BoxFuture<'_, Result<usize, Error>> {
        let result = self.lock().map(|mut inner| {
            let before = inner.logs.len();
            inner.logs.retain(|line| {
                !(query.matches(line) && (levels.is_empty() || levels.contains(&line.level)))
            });
            before - inner.logs.len()
        });
        Box::pin(async move { result })
    }
}
