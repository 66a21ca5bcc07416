//! The flows the API serves: a stored repository plus validation, with every new revision loaded
//! into the runtime and deleted flows unloaded (a webserver of its own has no runtime: executors
//! and schedulers pick the changes up from the database, see [`RuntimeFlows::refresh`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use peregrine_model::{Flow, Registry, Validator};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, FlowHead, FlowQuery, FlowRecord, FlowRepository};

use crate::runtime::LocalRuntime;

/// Validates, stores and loads flows into the runtime.
pub struct RuntimeFlows {
    registry: Arc<Registry>,
    runtime: Option<LocalRuntime>,
    stored: Arc<dyn FlowRepository>,
    /// Flows whose latest revision is `disabled: true`: executions are refused.
    disabled: Mutex<HashSet<(String, String)>>,
    /// Told of every flow loaded and deleted (the scheduler).
    listeners: Mutex<Vec<FlowListener>>,
    /// The revision of each flow last loaded (or refused), for [`Self::refresh`].
    seen: Mutex<HashMap<(String, String), u32>>,
}

/// A flow loaded into the runtime (created, updated, read back at start) or deleted.
#[derive(Debug, Clone)]
pub enum FlowChange {
    Loaded(Arc<Flow>),
    Deleted { namespace: String, id: String },
}

/// Called after each flow change.
pub type FlowListener = Arc<dyn Fn(&FlowChange) + Send + Sync>;

/// The name the command port knows these flows by.
pub type MemoryFlowRepository = RuntimeFlows;

impl RuntimeFlows {
    pub fn new(
        registry: Arc<Registry>,
        runtime: LocalRuntime,
        stored: Arc<dyn FlowRepository>,
    ) -> Self {
        Self {
            registry,
            runtime: Some(runtime),
            stored,
            disabled: Mutex::new(HashSet::new()),
            listeners: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Validates and stores flows for a process that runs no executions (a webserver of its own).
    pub fn stored_only(registry: Arc<Registry>, stored: Arc<dyn FlowRepository>) -> Self {
        Self {
            registry,
            runtime: None,
            stored,
            disabled: Mutex::new(HashSet::new()),
            listeners: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Calls `listener` after every flow loaded or deleted from now on.
    pub fn on_change(&self, listener: FlowListener) {
        if let Ok(mut listeners) = self.listeners.lock() {
            listeners.push(listener);
        }
    }

    fn tell(&self, change: FlowChange) {
        let listeners = self.listeners.lock().map(|l| l.clone()).unwrap_or_default();
        for listener in listeners {
            listener(&change);
        }
    }

    /// Loads the latest revision of every stored flow into the runtime; returns how many, and
    /// the flows that no longer validate (with why).
    pub async fn load_stored(&self) -> Result<(usize, Vec<String>), Error> {
        let mut loaded = 0;
        let mut refused = Vec::new();
        for record in self.stored.list(&FlowQuery::default()).await? {
            match self.load(&record) {
                Ok(()) => loaded += 1,
                Err(error) => refused.push(format!("{}.{}: {error}", record.namespace, record.id)),
            }
        }
        Ok((loaded, refused))
    }

    /// True when the latest revision of a stored, not deleted flow is disabled.
    pub fn is_disabled(&self, namespace: &str, id: &str) -> bool {
        self.disabled
            .lock()
            .is_ok_and(|disabled| disabled.contains(&key(namespace, id)))
    }

    /// Brings the loaded flows in step with the repository, which other processes change too
    /// (a webserver of its own): new revisions are loaded, flows gone are unloaded. Returns the
    /// stored revisions that no longer load, with why.
    ///
    /// Only the latest revision numbers are read ([`FlowRepository::heads`]); the sources of
    /// the flows that changed are read then, one by one when they are few.
    pub async fn refresh(&self) -> Result<Vec<String>, Error> {
        let heads = self.stored.heads().await?;
        let seen = self
            .seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default();
        let present: HashSet<(String, String)> = heads
            .iter()
            .map(|head| key(&head.namespace, &head.id))
            .collect();
        // Only newer revisions: a refresh that overlaps a local save (or another refresh) does
        // not load back an older one.
        let changed: Vec<&FlowHead> = heads
            .iter()
            .filter(|head| {
                seen.get(&key(&head.namespace, &head.id))
                    .is_none_or(|seen| head.revision > *seen)
            })
            .collect();
        let records = if changed.len() > READ_ONE_BY_ONE {
            let wanted: HashSet<(String, String, u32)> = changed
                .iter()
                .map(|head| (head.namespace.clone(), head.id.clone(), head.revision))
                .collect();
            let listed = self.stored.list(&FlowQuery::default()).await?;
            listed
                .into_iter()
                .filter(|record| {
                    wanted.contains(&(record.namespace.clone(), record.id.clone(), record.revision))
                })
                .collect()
        } else {
            let mut records = Vec::new();
            for head in changed {
                // Deleted meanwhile: forgotten by the next refresh.
                let read = self
                    .stored
                    .get(&head.namespace, &head.id, Some(head.revision))
                    .await?;
                records.extend(read);
            }
            records
        };
        let mut refused = Vec::new();
        for record in records.iter().filter(|record| !record.deleted) {
            if let Err(error) = self.load(record) {
                refused.push(format!("{}.{}: {error}", record.namespace, record.id));
            }
        }
        for (namespace, id) in seen.into_keys().filter(|key| !present.contains(key)) {
            self.forget_flow(namespace, id);
        }
        Ok(refused)
    }

    /// Unloads a deleted flow and tells the listeners.
    fn forget_flow(&self, namespace: String, id: String) {
        if let Some(runtime) = &self.runtime {
            runtime.unload(&namespace, &id);
        }
        if let Ok(mut set) = self.disabled.lock() {
            set.remove(&key(&namespace, &id));
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(&key(&namespace, &id));
        }
        self.tell(FlowChange::Deleted { namespace, id });
    }

    fn load(&self, record: &FlowRecord) -> Result<(), Error> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(key(&record.namespace, &record.id), record.revision);
        }
        let flow = self.read(&record.namespace, &record.id, &record.source)?;
        let disabled = flow.disabled;
        let flow = Flow {
            revision: Some(record.revision),
            ..flow
        };
        let loaded = Arc::new(flow.clone());
        if let Some(runtime) = &self.runtime {
            runtime
                .load(flow)
                .map_err(|error| Error::Invalid(error.to_string()))?;
        }
        self.tell(FlowChange::Loaded(loaded));
        if let Ok(mut set) = self.disabled.lock() {
            if disabled {
                set.insert(key(&record.namespace, &record.id));
            } else {
                set.remove(&key(&record.namespace, &record.id));
            }
        }
        Ok(())
    }

    /// The typed flow of a source, which must declare `namespace` and `id`. As in Kestra, the
    /// syntax of `{{ }}` templates is not a reason to refuse a flow (a broken template fails
    /// its task when rendered); `flow validate` and the validate endpoint report it.
    fn read(&self, namespace: &str, id: &str, source: &str) -> Result<Flow, Error> {
        let report = Validator::new(&self.registry).validate_one(source);
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
}

fn key(namespace: &str, id: &str) -> (String, String) {
    (namespace.to_string(), id.to_string())
}

impl FlowRepository for RuntimeFlows {
    fn save(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<FlowRecord, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move {
            // Refuse an invalid flow before anything is stored.
            self.read(&namespace, &id, &source)?;
            let record = self.stored.save(&namespace, &id, source, now).await?;
            self.load(&record)?;
            Ok(record)
        })
    }

    fn get(
        &self,
        namespace: &str,
        id: &str,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Option<FlowRecord>, Error>> {
        self.stored.get(namespace, id, revision)
    }

    fn revisions(
        &self,
        namespace: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        self.stored.revisions(namespace, id)
    }

    fn list(&self, query: &FlowQuery) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        self.stored.list(query)
    }

    fn delete(
        &self,
        namespace: &str,
        id: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<bool, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move {
            let deleted = self.stored.delete(&namespace, &id, now).await?;
            if deleted {
                self.forget_flow(namespace, id);
            }
            Ok(deleted)
        })
    }
}

/// How often the flows of a shared database are read again for changes made by other processes.
pub const FLOW_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// Up to this many changed flows, a refresh reads each one's source; beyond, one list of all.
const READ_ONE_BY_ONE: usize = 16;

/// Reads the repository again every [`FLOW_REFRESH`] until `shutdown`, loading what other
/// processes changed; `report` is told of stored flows that no longer load and of read errors.
pub async fn follow_repository(
    flows: Arc<RuntimeFlows>,
    report: Arc<dyn Fn(String) + Send + Sync>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(FLOW_REFRESH) => {}
            () = shutdown.cancelled() => return,
        }
        match flows.refresh().await {
            Ok(refused) => {
                for refused in refused {
                    report(format!("stored flow not loaded: {refused}"));
                }
            }
            Err(error) => report(format!("cannot read the flows, trying again: {error}")),
        }
    }
}
