//! Executions in memory, each with the plan of its flow revision.

use std::collections::HashMap;
use std::sync::Arc;

use peregrine_engine::variables::Globals;
use peregrine_engine::{
    Effect, Env, Event, ExecutionState, FlowPlan, NewExecution, new_execution, process,
};
use peregrine_model::execution::Execution;
use peregrine_model::expressions::Expressions;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecutorError {
    #[error("execution '{0}' is not known to this executor")]
    UnknownExecution(String),
}

struct Running {
    plan: Arc<FlowPlan>,
    state: ExecutionState,
}

/// The single writer of the executions it holds.
pub struct Executor {
    expressions: Arc<dyn Expressions>,
    globals: Globals,
    executions: HashMap<String, Running>,
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
        }
    }

    /// Creates an execution (CREATED) and returns its id; start it with [`Event::Start`].
    pub fn create(&mut self, plan: Arc<FlowPlan>, mut new: NewExecution) -> String {
        if new.id.is_empty() {
            new.id = crate::ids::new_id();
        }
        let id = new.id.clone();
        let state = new_execution(&plan, new, now_millis());
        self.executions.insert(id.clone(), Running { plan, state });
        id
    }

    /// Applies an event; returns the effects to carry out.
    pub fn handle(
        &mut self,
        execution_id: &str,
        event: Event,
    ) -> Result<Vec<Effect>, ExecutorError> {
        let running = self
            .executions
            .get_mut(execution_id)
            .ok_or_else(|| ExecutorError::UnknownExecution(execution_id.to_string()))?;
        let mut new_id = crate::ids::new_id;
        let mut env = Env {
            now: now_millis(),
            new_id: &mut new_id,
            expressions: self.expressions.as_ref(),
            globals: &self.globals,
        };
        let effects = process(&running.plan, &mut running.state, event, &mut env);
        running.state.take_changed();
        Ok(effects)
    }

    pub fn execution(&self, execution_id: &str) -> Option<&Execution> {
        self.executions
            .get(execution_id)
            .map(|running| &running.state.execution)
    }
}

/// The wall clock truncated to milliseconds, the precision Kestra keeps for dates.
fn now_millis() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}
