//! Flows with revisions in memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

use crate::future::BoxFuture;
use crate::repository::{Error, FlowQuery, FlowRecord, FlowRepository};

#[derive(Default)]
struct Stored {
    /// Every revision, oldest first.
    revisions: Vec<FlowRecord>,
    deleted: bool,
}

/// Stored flows by (namespace, id), so listed in that order.
type Flows = BTreeMap<(String, String), Stored>;

#[derive(Default)]
pub struct MemoryFlows {
    flows: Mutex<Flows>,
}

impl MemoryFlows {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Flows>, Error> {
        self.flows
            .lock()
            .map_err(|_| Error::Backend("the flow store is poisoned".into()))
    }

    fn save_now(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> Result<FlowRecord, Error> {
        let mut flows = self.lock()?;
        let stored = flows.entry(key(namespace, id)).or_default();
        let latest = stored.revisions.last();
        if let Some(latest) = latest.filter(|latest| !stored.deleted && latest.source == source) {
            return Ok(latest.clone());
        }
        let record = FlowRecord {
            namespace: namespace.to_string(),
            id: id.to_string(),
            revision: latest.map_or(1, |latest| latest.revision + 1),
            source,
            updated: now,
            deleted: false,
        };
        stored.revisions.push(record.clone());
        stored.deleted = false;
        Ok(record)
    }
}

fn key(namespace: &str, id: &str) -> (String, String) {
    (namespace.to_string(), id.to_string())
}

impl FlowRepository for MemoryFlows {
    fn save(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<FlowRecord, Error>> {
        let result = self.save_now(namespace, id, source, now);
        Box::pin(async move { result })
    }

    fn get(
        &self,
        namespace: &str,
        id: &str,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Option<FlowRecord>, Error>> {
        let result = self.lock().map(|flows| {
            let stored = flows
                .get(&key(namespace, id))
                .filter(|stored| !stored.deleted)?;
            match revision {
                None => stored.revisions.last().cloned(),
                Some(revision) => stored
                    .revisions
                    .iter()
                    .find(|record| record.revision == revision)
                    .cloned(),
            }
        });
        Box::pin(async move { result })
    }

    fn revisions(
        &self,
        namespace: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let result = self.lock().map(|flows| {
            flows
                .get(&key(namespace, id))
                .map(|stored| stored.revisions.clone())
                .unwrap_or_default()
        });
        Box::pin(async move { result })
    }

    fn list(&self, query: &FlowQuery) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let result = self.lock().map(|flows| {
            flows
                .values()
                .filter(|stored| !stored.deleted)
                .filter_map(|stored| stored.revisions.last())
                .filter(|record| query.matches(record))
                .cloned()
                .collect()
        });
        Box::pin(async move { result })
    }

    fn delete(
        &self,
        namespace: &str,
        id: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<bool, Error>> {
        let result = self.lock().map(|mut flows| {
            let Some(stored) = flows
                .get_mut(&key(namespace, id))
                .filter(|stored| !stored.deleted)
            else {
                return false;
            };
            stored.deleted = true;
            if let Some(latest) = stored.revisions.last_mut() {
                latest.deleted = true;
                latest.updated = now;
            }
            true
        });
        Box::pin(async move { result })
    }
}
