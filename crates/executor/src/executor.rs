//! Executions in memory, each with the plan of its flow revision; what each step changed is
//! handed out as a [`Transition`] for the store to commit.

use std::collections::HashMap;
use std::sync::Arc;

use peregrine_engine::state::Frame;
use peregrine_engine::variables::Globals;
use peregrine_engine::{
    Effect, Env, Event, ExecutionState, FlowPlan, NewExecution, new_execution, process,
};
use peregrine_model::execution::Execution;
use peregrine_model::expressions::Expressions;
use peregrine_ports::store::{ParentLink, StoredExecution, Transition};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecutorError {
    #[error("execution '{0}' is not known to this executor")]
    UnknownExecution(String),
    #[error("execution '{id}' cannot be read back: {reason}")]
    Corrupt { id: String, reason: String },
}

struct Running {
    plan: Arc<FlowPlan>,
    state: ExecutionState,
    /// Nothing of it has been committed yet: the next transition carries the root frame.
    fresh: bool,
    /// The parent waiting for it, written with its first transition.
    parent: Option<ParentLink>,
}

/// The single writer of the executions it holds.
pub struct Executor {
    expressions: Arc<dyn Expressions>,
    globals: Globals,
    executions: HashMap<String, Running>,
    /// When executors share the load: the number of partitions, so the executions and task
    /// runs a step creates get ids in the partition of the execution that creates them.
    partitions: Option<u16>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("executions", &self.executions.len())
            .finish()
    }
}

impl Executor {
    pub fn new(expressions: Arc<dyn Expressions>, globals: Globals) -> Self {
        Self {
            expressions,
            globals,
            executions: HashMap::new(),
            partitions: None,
        }
    }

    /// Gives the ids a step creates the partition (among `count`) of their execution.
    pub fn partitioned(mut self, count: u16) -> Self {
        self.partitions = Some(count);
        self
    }

    /// Creates an execution (CREATED) and returns its id; start it with [`Event::Start`].
    pub fn create(
        &mut self,
        plan: Arc<FlowPlan>,
        mut new: NewExecution,
        parent: Option<ParentLink>,
    ) -> String {
        if new.id.is_empty() {
            new.id = crate::ids::new_id();
        }
        let id = new.id.clone();
        let state = new_execution(&plan, new, now_millis());
        let running = Running {
            plan,
            state,
            fresh: true,
            parent,
        };
        self.executions.insert(id.clone(), running);
        id
    }

    /// Takes back an execution read from the store (after a restart).
    pub fn restore(
        &mut self,
        plan: Arc<FlowPlan>,
        stored: StoredExecution,
    ) -> Result<(), ExecutorError> {
        let id = stored.execution.id.clone();
        let corrupt = |error: serde_json::Error| ExecutorError::Corrupt {
            id: id.clone(),
            reason: error.to_string(),
        };
        let root: Frame = match stored.root {
            Some(root) => serde_json::from_value(root).map_err(corrupt)?,
            None => peregrine_engine::frames::root_frame(&plan.root),
        };
        let frames = stored
            .frames
            .into_iter()
            .map(|(task_run_id, frame)| Ok((task_run_id, serde_json::from_value(frame)?)))
            .collect::<Result<HashMap<String, Frame>, serde_json::Error>>()
            .map_err(corrupt)?;
        let state = ExecutionState::new(stored.execution, root, frames);
        let running = Running {
            plan,
            state,
            fresh: false,
            parent: stored.parent,
        };
        self.executions.insert(id, running);
        Ok(())
    }

    /// Applies an event; returns the effects to carry out once [`Self::transition`] is
    /// committed.
    pub fn handle(
        &mut self,
        execution_id: &str,
        event: Event,
    ) -> Result<Vec<Effect>, ExecutorError> {
        let running = self
            .executions
            .get_mut(execution_id)
            .ok_or_else(|| ExecutorError::UnknownExecution(execution_id.to_string()))?;
        let partitions = self.partitions;
        let mut new_id = || match partitions {
            Some(count) => {
                let partition = peregrine_ports::partition::of(execution_id, count);
                crate::ids::new_id_in(partition, count)
            }
            None => crate::ids::new_id(),
        };
        let mut env = Env {
            now: now_millis(),
            new_id: &mut new_id,
            expressions: self.expressions.as_ref(),
            globals: &self.globals,
        };
        Ok(process(&running.plan, &mut running.state, event, &mut env))
    }

    /// What changed since the last transition: the header, the task runs and frames touched.
    pub fn transition(&mut self, execution_id: &str) -> Option<Transition> {
        let running = self.executions.get_mut(execution_id)?;
        let state = &mut running.state;
        let runs = std::mem::take(&mut state.execution.task_run_list);
        let header = state.execution.clone();
        state.execution.task_run_list = runs;
        let task_runs = state
            .take_changed()
            .into_iter()
            .filter_map(|position| {
                let run = state.execution.task_run_list.get(position)?;
                Some((position, run.clone()))
            })
            .collect();
        let frames = state
            .take_changed_frames()
            .into_iter()
            .filter_map(|id| {
                let frame = serde_json::to_value(state.frames.get(&id)?).ok()?;
                Some((id, frame))
            })
            .collect();
        let removed = state.take_removed();
        let fresh = std::mem::take(&mut running.fresh);
        let root = if fresh {
            serde_json::to_value(&running.state.root).ok()
        } else {
            None
        };
        Some(Transition {
            execution_id: execution_id.to_string(),
            header: Some(header),
            task_runs,
            removed,
            frames,
            root,
            parent: if fresh { running.parent.clone() } else { None },
        })
    }

    /// Moves an execution that has not started to `state`: QUEUED while its flow's concurrency
    /// limit is reached, CANCELLED or FAILED when the limit refuses it. Returns false when the
    /// execution is unknown or has started.
    pub fn hold(&mut self, execution_id: &str, state: peregrine_model::state::State) -> bool {
        use peregrine_model::state::State;
        let Some(running) = self.executions.get_mut(execution_id) else {
            return false;
        };
        let history = &mut running.state.execution.state;
        if !matches!(history.current, State::Created | State::Queued) {
            return false;
        }
        history.set(state, now_millis());
        true
    }

    /// Replaces the labels of an execution it holds (set through the API on an ended one); the
    /// next transition carries them. Returns false when the execution is unknown.
    pub fn set_labels(
        &mut self,
        execution_id: &str,
        labels: Vec<peregrine_model::flow::Label>,
    ) -> bool {
        let Some(running) = self.executions.get_mut(execution_id) else {
            return false;
        };
        running.state.execution.labels = labels;
        true
    }

    pub fn execution(&self, execution_id: &str) -> Option<&Execution> {
        self.executions
            .get(execution_id)
            .map(|running| &running.state.execution)
    }

    /// The plan an execution runs on (its flow revision's).
    pub fn plan(&self, execution_id: &str) -> Option<&Arc<FlowPlan>> {
        self.executions
            .get(execution_id)
            .map(|running| &running.plan)
    }

    /// The parent waiting for this execution, if any.
    pub fn parent(&self, execution_id: &str) -> Option<&ParentLink> {
        self.executions.get(execution_id)?.parent.as_ref()
    }

    /// Forgets an execution (one that has ended and is committed); it can be restored later.
    pub fn evict(&mut self, execution_id: &str) -> bool {
        self.executions.remove(execution_id).is_some()
    }

    /// The ids of the executions held.
    pub fn ids(&self) -> Vec<String> {
        self.executions.keys().cloned().collect()
    }

    pub fn holds(&self, execution_id: &str) -> bool {
        self.executions.contains_key(execution_id)
    }
}

/// The wall clock truncated to milliseconds, the precision Kestra keeps for dates.
fn now_millis() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}
