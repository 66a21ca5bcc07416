//! The in-memory outbox and its queue: rows by (execution id, key), each with its claim state
//! and the order it was first put in. Leases are measured on this process's monotonic clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::MemoryExecutions;
use crate::future::BoxFuture;
use crate::partition::{DEFAULT_COUNT, Partitions};
use crate::queue::{Claimed, Held, KILLS, OutboxQueue};
use crate::repository::Error;
use crate::store::OutboxRow;

/// A row with its claim state.
struct Entry {
    payload: Value,
    /// The order the row was first put in: a row put again keeps its place.
    seq: u64,
    claimed_by: Option<String>,
    /// `None` while claimed: a lease too long to represent, which never expires.
    lease_until: Option<Instant>,
    claims: u32,
    killed: bool,
}

impl Entry {
    fn claimable(&self, now: Instant) -> bool {
        self.claimed_by.is_none() || self.lease_until.is_some_and(|until| until < now)
    }

    fn row(&self, (execution_id, key): &(String, String)) -> OutboxRow {
        OutboxRow {
            execution_id: execution_id.clone(),
            key: key.clone(),
            payload: self.payload.clone(),
        }
    }
}

/// The outbox rows put and not yet done.
#[derive(Default)]
pub(super) struct Outbox {
    rows: BTreeMap<(String, String), Entry>,
    next_seq: u64,
}

impl Outbox {
    /// Adds `row`, or replaces its payload and clears its claim.
    pub(super) fn put(&mut self, row: &OutboxRow) {
        let key = (row.execution_id.clone(), row.key.clone());
        let seq = match self.rows.get(&key) {
            Some(entry) => entry.seq,
            None => {
                self.next_seq += 1;
                self.next_seq
            }
        };
        let entry = Entry {
            payload: row.payload.clone(),
            seq,
            claimed_by: None,
            lease_until: None,
            claims: 0,
            killed: false,
        };
        self.rows.insert(key, entry);
    }

    pub(super) fn remove(&mut self, execution_id: &str, key: &str) {
        self.rows
            .remove(&(execution_id.to_string(), key.to_string()));
    }

    /// Keeps the rows for which `keep(execution id, key)` holds.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.rows
            .retain(|(execution_id, key), _| keep(execution_id, key));
    }

    /// Every row, by execution id then key.
    pub(super) fn all(&self) -> Vec<OutboxRow> {
        self.rows
            .iter()
            .map(|(key, entry)| entry.row(key))
            .collect()
    }

    /// The rows whose key starts with `prefix` and pass `filter`, oldest first.
    fn oldest<'a>(
        &'a self,
        prefix: &str,
        filter: impl Fn(&Entry) -> bool,
    ) -> Vec<(&'a (String, String), &'a Entry)> {
        let mut found: Vec<_> = self
            .rows
            .iter()
            .filter(|((_, key), entry)| key.starts_with(prefix) && filter(entry))
            .collect();
        found.sort_by_key(|(_, entry)| entry.seq);
        found
    }

    fn rows(&self, prefix: &str, partitions: &Partitions, limit: usize) -> Vec<OutboxRow> {
        self.oldest(prefix, |_| true)
            .into_iter()
            .filter(|((id, _), _)| partitions.hold(id, DEFAULT_COUNT))
            .take(limit)
            .map(|(key, entry)| entry.row(key))
            .collect()
    }

    fn claim(
        &mut self,
        prefix: &str,
        worker: &str,
        limit: usize,
        lease: Duration,
        now: Instant,
    ) -> Vec<Claimed> {
        let keys: Vec<(String, String)> = self
            .oldest(prefix, |entry| entry.claimable(now))
            .into_iter()
            .take(limit)
            .map(|(key, _)| key.clone())
            .collect();
        let mut claimed = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(entry) = self.rows.get_mut(&key) {
                entry.claimed_by = Some(worker.to_string());
                entry.lease_until = now.checked_add(lease);
                entry.claims = entry.claims.saturating_add(1);
                claimed.push(Claimed {
                    row: entry.row(&key),
                    claims: entry.claims,
                    killed: entry.killed,
                });
            }
        }
        claimed
    }

    fn renew(&mut self, worker: &str, lease: Duration, now: Instant) -> Vec<Held> {
        self.rows
            .iter_mut()
            .filter(|(_, entry)| entry.claimed_by.as_deref() == Some(worker))
            .map(|((execution_id, key), entry)| {
                entry.lease_until = now.checked_add(lease);
                Held {
                    execution_id: execution_id.clone(),
                    key: key.clone(),
                    killed: entry.killed,
                }
            })
            .collect()
    }

    fn release(&mut self, worker: &str, rows: Vec<(String, String)>) {
        for key in rows {
            if let Some(entry) = self.rows.get_mut(&key)
                && entry.claimed_by.as_deref() == Some(worker)
            {
                entry.claimed_by = None;
                entry.lease_until = None;
            }
        }
    }

    fn kill(&mut self, execution_id: &str, prefix: &str) {
        for ((id, key), entry) in &mut self.rows {
            if id == execution_id && key.starts_with(prefix) {
                entry.killed = true;
            }
        }
    }
}

impl OutboxQueue for MemoryExecutions {
    fn claim<'a>(
        &'a self,
        prefix: &'a str,
        worker: &'a str,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        let result = self.lock().map(|mut inner| {
            inner
                .outbox
                .claim(prefix, worker, limit, lease, Instant::now())
        });
        Box::pin(async move { result })
    }

    fn renew<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Held>, Error>> {
        let result = self
            .lock()
            .map(|mut inner| inner.outbox.renew(worker, lease, Instant::now()));
        Box::pin(async move { result })
    }

    fn release<'a>(
        &'a self,
        worker: &'a str,
        rows: Vec<(String, String)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let keys: Vec<String> = rows.iter().map(|(_, key)| key.clone()).collect();
        let result = self
            .lock()
            .map(|mut inner| inner.outbox.release(worker, rows));
        if result.is_ok() {
            // The rows handed back may be claimed at once.
            self.wakeups.notify_keys(keys.iter().map(String::as_str));
        }
        Box::pin(async move { result })
    }

    fn kill<'a>(
        &'a self,
        execution_id: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let result = self
            .lock()
            .map(|mut inner| inner.outbox.kill(execution_id, prefix));
        if result.is_ok() {
            self.wakeups.notify(KILLS);
        }
        Box::pin(async move { result })
    }

    fn rows<'a>(
        &'a self,
        prefix: &'a str,
        partitions: &'a Partitions,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        let result = self
            .lock()
            .map(|inner| inner.outbox.rows(prefix, partitions, limit));
        Box::pin(async move { result })
    }

    fn wait<'a>(&'a self, prefix: &'a str, timeout: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.wakeups.wait(prefix, timeout).await;
        })
    }
}
