//! The plan an execution runs on is the one of its own flow revision: the loaded plan when it is
//! that revision, otherwise the revision read from the flow repository and compiled once. An
//! execution taken back after its flow changed (a paused one resumed after a restart, a restart)
//! so continues with the tasks it started with.

use std::sync::Arc;

use peregrine_engine::FlowPlan;
use peregrine_model::{Flow, Validator};

use super::{LocalRuntime, uid};

/// Why a revision's plan could not be had.
enum Missing {
    /// The repository no longer holds it (or the runtime has none).
    Gone,
    Failed(String),
}

impl LocalRuntime {
    /// The plan of a flow's `revision`. When that revision is gone, the latest loaded plan,
    /// with a warning.
    pub(super) async fn revision_plan(
        &self,
        namespace: &str,
        flow_id: &str,
        revision: u32,
    ) -> Result<Arc<FlowPlan>, String> {
        let key = uid(namespace, flow_id);
        if let Some(plan) = self.known_plan(&key, revision)? {
            return Ok(plan);
        }
        match self.compile_revision(namespace, flow_id, revision).await {
            Ok(plan) => {
                let plan = Arc::new(plan);
                let mut shared = self
                    .shared
                    .lock()
                    .map_err(|_| "the runtime is poisoned".to_string())?;
                let cached = shared
                    .revisions
                    .entry((key, revision))
                    .or_insert_with(|| plan.clone());
                Ok(cached.clone())
            }
            Err(Missing::Failed(reason)) => Err(reason),
            Err(Missing::Gone) => {
                let latest = self
                    .plan(namespace, flow_id)
                    .map_err(|error| error.to_string())?;
                eprintln!(
                    "warning: flow {key} revision {revision} is gone: its executions continue on \
                     revision {}",
                    revision_of(&latest.flow)
                );
                Ok(latest)
            }
        }
    }

    /// Loads the latest revision of a flow from the flow repository (a flow saved through
    /// another process moments ago, before this one read the flows again).
    pub(super) async fn load_latest(&self, namespace: &str, flow_id: &str) -> Result<(), String> {
        let Some(flows) = &self.flows else {
            return Err(format!("flow {namespace}.{flow_id} is not loaded"));
        };
        let record = flows
            .get(namespace, flow_id, None)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| format!("flow {namespace}.{flow_id} is not loaded"))?;
        let report = Validator::new(&self.registry).validate_one(&record.source);
        let Some(flow) = report.flow else {
            return Err(format!("flow {namespace}.{flow_id} does not validate"));
        };
        let flow = Flow {
            revision: Some(record.revision),
            ..flow
        };
        // Loaded as the runtime's flow loader would; a newer one loaded meanwhile stays.
        if self.plan(namespace, flow_id).is_err() {
            self.load(flow).map_err(|error| error.to_string())?;
        }
        Ok(())
    }

    /// The loaded plan when it is `revision`, or a revision compiled before.
    fn known_plan(&self, key: &str, revision: u32) -> Result<Option<Arc<FlowPlan>>, String> {
        let shared = self
            .shared
            .lock()
            .map_err(|_| "the runtime is poisoned".to_string())?;
        let latest = shared
            .plans
            .get(key)
            .filter(|plan| revision_of(&plan.flow) == revision);
        let known = latest.or_else(|| shared.revisions.get(&(key.to_string(), revision)));
        Ok(known.cloned())
    }

    /// Reads a revision's source from the flow repository and compiles it.
    async fn compile_revision(
        &self,
        namespace: &str,
        flow_id: &str,
        revision: u32,
    ) -> Result<FlowPlan, Missing> {
        let Some(flows) = &self.flows else {
            return Err(Missing::Gone);
        };
        let record = flows
            .get(namespace, flow_id, Some(revision))
            .await
            .map_err(|error| Missing::Failed(error.to_string()))?
            .filter(|record| record.revision == revision)
            .ok_or(Missing::Gone)?;
        let report = Validator::new(&self.registry).validate_one(&record.source);
        let Some(flow) = report.flow else {
            let problems: Vec<String> =
                report.diagnostics.iter().map(ToString::to_string).collect();
            return Err(Missing::Failed(format!(
                "flow {namespace}.{flow_id} revision {revision} no longer validates: {}",
                problems.join("; ")
            )));
        };
        let flow = Flow {
            revision: Some(revision),
            ..flow
        };
        let registry = self.registry.clone();
        FlowPlan::new(Arc::new(flow), &|type_name| {
            crate::catalogue::role_of(&registry, type_name)
        })
        .map_err(|error| Missing::Failed(error.to_string()))
    }
}

/// The revision executions of `flow` carry (1 for a flow never stored).
fn revision_of(flow: &Flow) -> u32 {
    flow.revision.unwrap_or(1)
}
