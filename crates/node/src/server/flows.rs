//! Flows with revisions in memory; saving a flow loads its new revision into the runtime, and
//! deleting it unloads it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use peregrine_model::{Flow, Registry, Validator};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, FlowQuery, FlowRecord, FlowRepository};

use crate::runtime::LocalRuntime;

#[derive(Default)]
struct Stored {
    /// Every revision, oldest first.
    revisions: Vec<FlowRecord>,
    deleted: bool,
    /// `disabled: true` in the latest revision: executions are refused.
    disabled: bool,
}

/// Stored flows by (namespace, id), so listed in that order.
type Flows = BTreeMap<(String, String), Stored>;

/// The flow repository of `peregrine server local`.
pub struct MemoryFlowRepository {
    registry: Arc<Registry>,
    runtime: LocalRuntime,
    flows: Mutex<Flows>,
}

impl MemoryFlowRepository {
    pub fn new(registry: Arc<Registry>, runtime: LocalRuntime) -> Self {
        Self {
            registry,
            runtime,
            flows: Mutex::new(BTreeMap::new()),
        }
    }

    /// True when the latest revision of a stored, not deleted flow is disabled.
    pub fn is_disabled(&self, namespace: &str, id: &str) -> bool {
        self.flows.lock().is_ok_and(|flows| {
            flows
                .get(&(namespace.to_string(), id.to_string()))
                .is_some_and(|stored| !stored.deleted && stored.disabled)
        })
    }

    fn save_now(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> Result<FlowRecord, Error> {
        let flow = self.read(namespace, id, &source)?;
        let mut flows = self.lock()?;
        let stored = flows
            .entry((namespace.to_string(), id.to_string()))
            .or_default();
        let latest = stored.revisions.last();
        if let Some(latest) = latest.filter(|latest| !stored.deleted && latest.source == source) {
            return Ok(latest.clone());
        }
        let revision = latest.map_or(1, |latest| latest.revision + 1);
        let disabled = flow.disabled;
        let flow = Flow {
            revision: Some(revision),
            ..flow
        };
        self.runtime
            .load(flow)
            .map_err(|error| Error::Invalid(error.to_string()))?;
        let record = FlowRecord {
            namespace: namespace.to_string(),
            id: id.to_string(),
            revision,
            source,
            updated: now,
            deleted: false,
        };
        stored.revisions.push(record.clone());
        stored.deleted = false;
        stored.disabled = disabled;
        Ok(record)
    }

    /// The typed flow of a source, which must declare `namespace` and `id`.
    fn read(&self, namespace: &str, id: &str, source: &str) -> Result<Flow, Error> {
        let syntax = crate::PebbleSyntax;
        let report = Validator::new(&self.registry)
            .with_expressions(&syntax)
            .validate_one(source);
        let problems: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        let flow = report
            .flow
            .ok_or_else(|| Error::Invalid(problems.join("\n")))?;
        if flow.namespace != namespace || flow.id != id {
            return Err(Error::Invalid(format!(
                "the source declares flow {}.{}, not {namespace}.{id}",
                flow.namespace, flow.id
            )));
        }
        Ok(flow)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Flows>, Error> {
        self.flows
            .lock()
            .map_err(|_| Error::Backend("the flow store is poisoned".into()))
    }
}

fn key(namespace: &str, id: &str) -> (String, String) {
    (namespace.to_string(), id.to_string())
}

/// `namespace` is `filter` or one of its children.
pub(crate) fn in_namespace(namespace: &str, filter: &str) -> bool {
    namespace == filter
        || namespace
            .strip_prefix(filter)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl FlowRepository for MemoryFlowRepository {
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
        let text = query.text.as_deref().map(str::to_lowercase);
        let result = self.lock().map(|flows| {
            flows
                .values()
                .filter(|stored| !stored.deleted)
                .filter_map(|stored| stored.revisions.last())
                .filter(|record| {
                    query
                        .namespace
                        .as_deref()
                        .is_none_or(|filter| in_namespace(&record.namespace, filter))
                })
                .filter(|record| {
                    text.as_deref().is_none_or(|text| {
                        record.id.to_lowercase().contains(text)
                            || record.namespace.to_lowercase().contains(text)
                            || record.source.to_lowercase().contains(text)
                    })
                })
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
            self.runtime.unload(namespace, id);
            true
        });
        Box::pin(async move { result })
    }
}
