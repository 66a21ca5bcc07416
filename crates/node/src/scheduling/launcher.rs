//! The scheduler's launcher over the in-process runtime: a claimed slot becomes an execution
//! with Kestra's `trigger` (`id`, `type`, `variables` = `date`, `next`, `previous`), the
//! trigger's rendered `inputs` and `labels`, once its conditions hold.

use peregrine_engine::NewExecution;
use peregrine_engine::variables::Globals;
use peregrine_model::execution::ExecutionTrigger;
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::{Label, Labels, Trigger};
use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use peregrine_scheduler::{Firing, LaunchError, Launcher, Started};
use serde_json::{Map, Value, json};

use crate::conditions::{self, ConditionContext};
use crate::expressions::{RuntimeExpressions, render_tree};
use crate::runtime::LocalRuntime;

/// The execution to create and its inputs (typed against the flow when it is created).
pub(super) type Prepared = (NewExecution, Map<String, Value>);

pub(super) struct RuntimeLauncher {
    pub runtime: LocalRuntime,
    pub expressions: RuntimeExpressions,
    pub globals: Globals,
}

pub(super) fn failed(message: impl std::fmt::Display) -> LaunchError {
    LaunchError(message.to_string())
}

/// The trigger a firing is for.
pub(super) fn trigger_of(firing: &Firing) -> Result<&Trigger, LaunchError> {
    let flow = &firing.flow;
    flow.triggers
        .iter()
        .find(|t| t.common.id == firing.trigger_id)
        .ok_or_else(|| {
            failed(format!(
                "flow {}.{} has no trigger '{}'",
                flow.namespace, flow.id, firing.trigger_id
            ))
        })
}

/// The new execution of a firing; `None` when the trigger's conditions do not hold.
pub(super) fn prepare(
    expressions: &RuntimeExpressions,
    globals: &Globals,
    firing: &Firing,
    trigger: &Trigger,
) -> Result<Option<Prepared>, LaunchError> {
    let flow = firing.flow.as_ref();
    let variables = json!({
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": flow.revision},
        "trigger": firing.variables,
        "schedule": firing.variables,
        "envs": globals.envs,
        "globals": globals.globals,
    });
    let context = ConditionContext {
        flow,
        execution: None,
        variables: &variables,
        expressions,
        windows: None,
    };
    for condition in &trigger.common.conditions {
        let holds = conditions::test(condition, &context).map_err(failed)?;
        if !holds {
            return Ok(None);
        }
    }
    let inputs = match trigger.properties.get("inputs") {
        Some(inputs) => match render_tree(expressions, inputs, &variables).map_err(failed)? {
            Value::Object(inputs) => inputs,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    let mut labels = Vec::new();
    if let Some(written) = &trigger.common.labels {
        let written: Labels = serde_json::from_value(written.clone()).map_err(failed)?;
        for label in written.0 {
            let value = expressions
                .render_string(&label.value, &variables)
                .map_err(|message| failed(format!("label '{}': {message}", label.key)))?;
            labels.push(Label {
                key: label.key,
                value,
            });
        }
    }
    let new = NewExecution {
        id: firing.execution_id.clone(),
        labels,
        trigger: Some(ExecutionTrigger {
            id: trigger.common.id.clone(),
            type_name: trigger.common.type_name.clone(),
            variables: Some(firing.variables.clone()),
        }),
        ..NewExecution::default()
    };
    Ok(Some((new, inputs)))
}

impl RuntimeLauncher {
    async fn exists(&self, execution_id: &str) -> Result<Option<State>, LaunchError> {
        if let Some(execution) = self.runtime.execution(execution_id) {
            return Ok(Some(execution.state.current));
        }
        let store = self.runtime.store();
        let stored = store.get(execution_id).await.map_err(failed)?;
        Ok(stored.map(|execution| execution.state.current))
    }
}

impl Launcher for RuntimeLauncher {
    fn new_id(&self) -> String {
        peregrine_executor::new_id()
    }

    fn start(&self, firing: Firing) -> BoxFuture<'_, Result<Started, LaunchError>> {
        Box::pin(async move {
            if self.exists(&firing.execution_id).await?.is_some() {
                return Ok(Started::Started);
            }
            let flow = firing.flow.clone();
            let trigger = trigger_of(&firing)?;
            let Some((new, inputs)) = prepare(&self.expressions, &self.globals, &firing, trigger)?
            else {
                return Ok(Started::Skipped);
            };
            self.runtime
                .create(&flow.namespace, &flow.id, &inputs, new)
                .map_err(failed)?;
            Ok(Started::Started)
        })
    }

    fn state(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<State>, LaunchError>> {
        let execution_id = execution_id.to_string();
        Box::pin(async move { self.exists(&execution_id).await })
    }
}
