//! Typed flows by revision, for the commands that read a flow's declarations (Webhook
//! triggers, FILE inputs, a Pause task's `onResume` inputs): each revision is validated and
//! compiled once, then shared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use peregrine_engine::FlowPlan;
use peregrine_model::triggers::WebhookSpec;
use peregrine_model::{PluginSpec, Registry, Validator};
use peregrine_ports::repository::{Error, FlowRecord};

/// One revision of a flow, compiled, with its Webhook triggers read.
#[derive(Debug)]
pub(super) struct CachedFlow {
    pub revision: u32,
    pub plan: FlowPlan,
    /// Index in the flow's `triggers` and spec of each Webhook trigger.
    pub webhooks: Vec<(usize, WebhookSpec)>,
}

/// Compiled flows by (namespace, id).
type Latest = HashMap<(String, String), Arc<CachedFlow>>;

/// The latest compiled revision of each flow.
pub(super) struct FlowCache {
    registry: Arc<Registry>,
    latest: Mutex<Latest>,
}

impl FlowCache {
    /// Flows compiled against `registry`, the server's catalogue.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self {
            registry,
            latest: Mutex::default(),
        }
    }

    /// The compiled flow of a stored revision: from the cache when it is the cached one.
    pub fn get(&self, record: &FlowRecord) -> Result<Arc<CachedFlow>, Error> {
        let key = (record.namespace.clone(), record.id.clone());
        if let Some(cached) = self
            .lock()?
            .get(&key)
            .filter(|cached| cached.revision == record.revision)
        {
            return Ok(cached.clone());
        }
        let compiled = Arc::new(self.compile(record)?);
        let mut latest = self.lock()?;
        let newer = latest
            .get(&key)
            .is_some_and(|cached| cached.revision > record.revision);
        if !newer {
            latest.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    fn compile(&self, record: &FlowRecord) -> Result<CachedFlow, Error> {
        let registry = &self.registry;
        let report = Validator::new(registry).validate_one(&record.source);
        let mut flow = report.flow.ok_or_else(|| {
            let problems: Vec<String> =
                report.diagnostics.iter().map(ToString::to_string).collect();
            Error::Invalid(format!(
                "flow {}.{} revision {} is invalid: {}",
                record.namespace,
                record.id,
                record.revision,
                problems.join("; ")
            ))
        })?;
        flow.revision = Some(record.revision);
        let mut webhooks = Vec::new();
        for (index, trigger) in flow.triggers.iter().enumerate() {
            let type_name = trigger.common.type_name.as_str();
            if type_name != WebhookSpec::TYPE && !WebhookSpec::ALIASES.contains(&type_name) {
                continue;
            }
            let spec: WebhookSpec = trigger.spec().map_err(|error| {
                Error::Invalid(format!("trigger '{}': {error}", trigger.common.id))
            })?;
            webhooks.push((index, spec));
        }
        let plan = FlowPlan::new(Arc::new(flow), &|type_name| {
            crate::catalogue::role_of(registry, type_name)
        })
        .map_err(|error| Error::Invalid(error.to_string()))?;
        Ok(CachedFlow {
            revision: record.revision,
            plan,
            webhooks,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Latest>, Error> {
        self.latest
            .lock()
            .map_err(|_| Error::Backend("the flow cache is poisoned".into()))
    }
}
