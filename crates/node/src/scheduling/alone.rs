//! `peregrine server scheduler`: the scheduler role in a process of its own, over the database
//! the executors share. Flows and trigger states are read from it again every second (a
//! webserver of its own changes them), each claimed slot becomes a start written as a `command:`
//! row for the executor, and the executions it waits on are read back until they end.

use std::collections::HashSet;
use std::sync::Arc;

use peregrine_engine::variables::Globals;
use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::store::ExecutionBackend;
use peregrine_ports::triggers::{TriggerQuery, TriggerStore};
use peregrine_scheduler::{
    Firing, LaunchError, Launcher, Scheduler, SchedulerHandle, SchedulerOptions, Started,
    SystemClock,
};
use tokio_util::sync::CancellationToken;

use super::launcher::{failed, prepare, trigger_of};
use crate::backends::Backends;
use crate::expressions::RuntimeExpressions;
use crate::runtime::RowCommand;
use crate::server::{FLOW_REFRESH, FlowChange, RuntimeFlows, follow_repository};

/// Starts executions by writing their start for the executor.
struct StoreLauncher {
    store: Arc<dyn ExecutionBackend>,
    expressions: RuntimeExpressions,
    globals: Globals,
}

impl StoreLauncher {
    async fn state_of(&self, execution_id: &str) -> Result<Option<State>, LaunchError> {
        let stored = self.store.get(execution_id).await.map_err(failed)?;
        Ok(stored.map(|execution| execution.state.current))
    }
}

impl Launcher for StoreLauncher {
    fn new_id(&self) -> String {
        peregrine_executor::new_id()
    }

    /// Idempotent on the firing's id: an existing execution is left alone, and a start written
    /// again is the same row.
    fn start(&self, firing: Firing) -> BoxFuture<'_, Result<Started, LaunchError>> {
        Box::pin(async move {
            if self.state_of(&firing.execution_id).await?.is_some() {
                return Ok(Started::Started);
            }
            let trigger = trigger_of(&firing)?;
            let Some((new, inputs)) = prepare(&self.expressions, &self.globals, &firing, trigger)?
            else {
                return Ok(Started::Skipped);
            };
            let flow = &firing.flow;
            let inputs =
                peregrine_engine::inputs::typed_inputs(flow, &inputs).map_err(|errors| {
                    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    failed(format!("invalid inputs: {}", errors.join("; ")))
                })?;
            let command = RowCommand::Start {
                namespace: flow.namespace.clone(),
                flow_id: flow.id.clone(),
                revision: flow.revision.unwrap_or(1),
                inputs,
                labels: new.labels,
                trigger: new.trigger,
            };
            crate::command_rows::put(self.store.as_ref(), &new.id, &command)
                .await
                .map_err(failed)?;
            // The executor starts it; the scheduler does not wait for it.
            Ok(Started::Started)
        })
    }

    fn state(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<State>, LaunchError>> {
        let execution_id = execution_id.to_string();
        Box::pin(async move { self.state_of(&execution_id).await })
    }
}

/// Starts the scheduler over `backends` (a database the executors share), until `shutdown`;
/// flows are read with the catalogue `registry` (the server's is [`crate::catalogue`]).
pub fn start_alone(
    backends: &Backends,
    registry: Arc<peregrine_model::Registry>,
    shutdown: CancellationToken,
) -> SchedulerHandle {
    let options = backends.runtime_options();
    let launcher = StoreLauncher {
        store: backends.store.clone(),
        expressions: RuntimeExpressions::new(options.services.clone()),
        globals: options.globals.clone(),
    };
    let scheduler = Scheduler::start(
        SchedulerOptions {
            triggers: backends.triggers.clone(),
            launcher: Arc::new(launcher),
            clock: Arc::new(SystemClock),
            report: Arc::new(|message| eprintln!("scheduler: {message}")),
        },
        shutdown.clone(),
    );
    let flows = Arc::new(RuntimeFlows::stored_only(registry, backends.flows.clone()));
    let loaded = scheduler.clone();
    flows.on_change(Arc::new(move |change| match change {
        FlowChange::Loaded(flow) => loaded.flow_loaded(flow.clone()),
        FlowChange::Deleted { namespace, id } => loaded.flow_removed(namespace, id),
    }));
    let report: Arc<dyn Fn(String) + Send + Sync> = Arc::new(|message| eprintln!("{message}"));
    let first = flows.clone();
    let first_report = report.clone();
    tokio::spawn(async move {
        match first.refresh().await {
            Ok(refused) => {
                for refused in refused {
                    first_report(format!("stored flow not loaded: {refused}"));
                }
            }
            Err(error) => first_report(format!("cannot read the flows, trying again: {error}")),
        }
    });
    tokio::spawn(follow_repository(flows, report, shutdown.clone()));
    tokio::spawn(watch_states(
        scheduler.clone(),
        backends.triggers.clone(),
        backends.store.clone(),
        shutdown,
    ));
    scheduler
}

/// Every [`FLOW_REFRESH`]: tells the scheduler the trigger states may have changed (the API of
/// a webserver of its own disables, unlocks or restarts triggers; other schedulers claim slots)
/// and which of the executions its triggers wait on have ended, whoever started them.
pub async fn watch_states(
    scheduler: SchedulerHandle,
    triggers: Arc<dyn TriggerStore>,
    store: Arc<dyn ExecutionBackend>,
    shutdown: CancellationToken,
) {
    let mut told: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(FLOW_REFRESH) => {}
            () = shutdown.cancelled() => return,
        }
        scheduler.triggers_changed();
        let Ok(states) = triggers.list(&TriggerQuery::default()).await else {
            continue;
        };
        let waiting: HashSet<String> = states
            .into_iter()
            .filter_map(|state| state.execution_id)
            .collect();
        told.retain(|id| waiting.contains(id));
        for id in waiting.difference(&told.clone()) {
            let Ok(Some(execution)) = store.get(id).await else {
                continue;
            };
            if execution.state.is_terminated() {
                scheduler.execution_ended(id, execution.state.current);
                told.insert(id.clone());
            }
        }
    }
}
