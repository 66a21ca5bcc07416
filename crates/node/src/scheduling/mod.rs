//! The scheduler role wired into this process: fed the flows `RuntimeFlows` loads and the
//! executions that end, starting executions in the runtime. Tasks change trigger states
//! through [`NotifyingTriggers`], which wakes the scheduler after each change.

mod alone;
mod launcher;

pub use alone::{start_alone, watch_states};

use std::sync::{Arc, OnceLock};

use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::Error;
use peregrine_ports::triggers::{TriggerKey, TriggerQuery, TriggerState, TriggerStore};
use peregrine_scheduler::{Scheduler, SchedulerHandle, SchedulerOptions, SystemClock};
use tokio_util::sync::CancellationToken;

use crate::expressions::RuntimeExpressions;
use crate::runtime::{LocalRuntime, RuntimeOptions};
use crate::server::{FlowChange, RuntimeFlows};

/// The scheduler, once started: told of trigger changes made by tasks.
pub type SchedulerLink = Arc<OnceLock<SchedulerHandle>>;

/// The trigger states tasks see: every change wakes the scheduler.
pub struct NotifyingTriggers {
    inner: Arc<dyn TriggerStore>,
    scheduler: SchedulerLink,
}

impl NotifyingTriggers {
    pub fn new(inner: Arc<dyn TriggerStore>, scheduler: SchedulerLink) -> Self {
        Self { inner, scheduler }
    }

    fn changed(&self) {
        if let Some(scheduler) = self.scheduler.get() {
            scheduler.triggers_changed();
        }
    }
}

impl TriggerStore for NotifyingTriggers {
    fn get(&self, key: &TriggerKey) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        self.inner.get(key)
    }

    fn list(&self, query: &TriggerQuery) -> BoxFuture<'_, Result<Vec<TriggerState>, Error>> {
        self.inner.list(query)
    }

    fn put(
        &self,
        state: TriggerState,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        Box::pin(async move {
            let stored = self.inner.put(state, expected).await?;
            if stored.is_some() {
                self.changed();
            }
            Ok(stored)
        })
    }

    fn delete(&self, key: &TriggerKey) -> BoxFuture<'_, Result<bool, Error>> {
        let key = key.clone();
        Box::pin(async move {
            let deleted = self.inner.delete(&key).await?;
            if deleted {
                self.changed();
            }
            Ok(deleted)
        })
    }
}

/// Gives tasks the trigger states through a [`NotifyingTriggers`]; returns the link the
/// scheduler is announced on once [`start`] runs.
pub fn notify_changes(
    triggers: Arc<dyn TriggerStore>,
    options: &mut RuntimeOptions,
) -> SchedulerLink {
    let link = SchedulerLink::default();
    options.services.triggers = Arc::new(NotifyingTriggers::new(triggers, link.clone()));
    link
}

/// True for an execution a schedule trigger started that has just ended.
fn scheduled_end(execution: &peregrine_model::execution::Execution) -> Option<State> {
    let trigger = execution.trigger.as_ref()?;
    let scheduled =
        trigger.type_name.ends_with(".Schedule") || trigger.type_name.ends_with(".ScheduleOnDates");
    (scheduled && execution.state.is_terminated()).then_some(execution.state.current)
}

/// Starts the scheduler over `triggers`, fed by `flows` and the runtime's ended executions.
pub fn start(
    runtime: &LocalRuntime,
    flows: &RuntimeFlows,
    triggers: Arc<dyn TriggerStore>,
    options: &RuntimeOptions,
    link: &SchedulerLink,
    shutdown: CancellationToken,
) -> SchedulerHandle {
    let launcher = launcher::RuntimeLauncher {
        runtime: runtime.clone(),
        expressions: RuntimeExpressions::new(options.services.clone()),
        globals: options.globals.clone(),
    };
    let scheduler = Scheduler::start(
        SchedulerOptions {
            triggers,
            launcher: Arc::new(launcher),
            clock: Arc::new(SystemClock),
            report: Arc::new(|message| eprintln!("scheduler: {message}")),
        },
        shutdown,
    );
    let ended = scheduler.clone();
    runtime.on_change(Arc::new(move |execution| {
        if let Some(state) = scheduled_end(execution) {
            ended.execution_ended(&execution.id, state);
        }
    }));
    let loaded = scheduler.clone();
    flows.on_change(Arc::new(move |change| match change {
        FlowChange::Loaded(flow) => loaded.flow_loaded(flow.clone()),
        FlowChange::Deleted { namespace, id } => loaded.flow_removed(namespace, id),
    }));
    let _ = link.set(scheduler.clone());
    scheduler
}
