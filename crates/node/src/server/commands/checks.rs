//! The checks a command passes before it reaches an executor, the same whether the executor runs
//! in this process or reads the command from the database, with Kestra's answers.

use peregrine_engine::FlowPlan;
use peregrine_model::Flow;
use peregrine_model::execution::Execution;
use peregrine_model::flow::Input;
use peregrine_model::state::State;
use peregrine_model::tasks::PauseSpec;
use peregrine_ports::repository::{Error, FlowRecord, FlowRepository, InputFile};
use peregrine_ports::storage::{Storage, StorageContext};
use serde_json::{Map, Value};

use super::files;
use crate::server::state_name;

/// The latest revision of a flow that is not deleted.
pub(super) async fn latest(
    flows: &dyn FlowRepository,
    namespace: &str,
    flow_id: &str,
) -> Result<FlowRecord, Error> {
    flows
        .get(namespace, flow_id, None)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "flow",
            id: format!("{namespace}.{flow_id}"),
        })
}

/// Only the latest revision of a flow starts.
pub(super) fn latest_revision(asked: Option<u32>, latest: &FlowRecord) -> Result<(), Error> {
    match asked {
        Some(revision) if revision != latest.revision => Err(Error::Invalid(format!(
            "revision {revision} cannot run: only the latest revision ({}) of a flow runs for now",
            latest.revision
        ))),
        _ => Ok(()),
    }
}

/// A disabled flow starts nothing.
pub(super) fn enabled(flow: &Flow) -> Result<(), Error> {
    if flow.disabled {
        return Err(Error::Conflict(format!(
            "flow {}.{} is disabled",
            flow.namespace, flow.id
        )));
    }
    Ok(())
}

/// A revision a replay asks for must exist.
pub(super) async fn revision_exists(
    flows: &dyn FlowRepository,
    namespace: &str,
    flow_id: &str,
    revision: u32,
) -> Result<(), Error> {
    match flows.get(namespace, flow_id, Some(revision)).await? {
        Some(_) => Ok(()),
        None => Err(Error::NotFound {
            what: "flow revision",
            id: format!("{namespace}.{flow_id} revision {revision}"),
        }),
    }
}

/// Only an execution that has not ended can be killed.
pub(super) fn running(execution: &Execution) -> Result<(), Error> {
    if execution.state.is_terminated() {
        return Err(Error::Conflict(format!(
            "execution '{}' has already ended ({})",
            execution.id,
            state_name(execution.state.current)
        )));
    }
    Ok(())
}

/// Only a paused execution can be resumed.
pub(super) fn paused(execution: &Execution) -> Result<(), Error> {
    if execution.state.current != State::Paused {
        return Err(Error::Conflict(format!(
            "execution '{}' is not paused ({})",
            execution.id,
            state_name(execution.state.current)
        )));
    }
    Ok(())
}

/// Kestra restarts FAILED, KILLED, CANCELLED and WARNING executions (not SUCCESS nor one still
/// running).
pub(super) fn restartable(execution: &Execution) -> Result<(), Error> {
    let state = execution.state.current;
    if !execution.state.is_terminated() || state == State::Success {
        return Err(Error::Conflict(format!(
            "execution '{}' is {}: only an ended execution that did not succeed can be restarted",
            execution.id,
            state_name(state)
        )));
    }
    Ok(())
}

/// Some commands (replay from a task run, labels) take only an ended execution.
pub(super) fn ended(execution: &Execution, what: &str) -> Result<(), Error> {
    if !execution.state.is_terminated() {
        return Err(Error::Conflict(format!(
            "execution '{}' is {}: only an ended execution can {what}",
            execution.id,
            state_name(execution.state.current)
        )));
    }
    Ok(())
}

/// The `onResume` inputs of the execution's first paused task, when it is a Pause task that
/// declares some (`plan` is the execution's own flow revision).
pub(super) fn on_resume_inputs(plan: &FlowPlan, execution: &Execution) -> Option<Vec<Input>> {
    let paused = execution
        .task_run_list
        .iter()
        .find(|run| run.state.current == State::Paused)?;
    let node = plan.find(&paused.task_id)?;
    let pause = plan.node(node).task.spec::<PauseSpec>().ok()?;
    Some(pause.on_resume).filter(|declared| !declared.is_empty())
}

/// As Kestra does, values only reach a Pause task that asks for some, typed against its
/// `onResume` inputs, as its `onResume` output; files sent are stored under the execution
/// (removed again when the values are refused).
pub(super) async fn resume_outputs(
    storage: Option<&dyn Storage>,
    execution: &Execution,
    declared: &[Input],
    inputs: Option<Map<String, Value>>,
    files: Vec<InputFile>,
) -> Result<Map<String, Value>, Error> {
    let mut given = inputs.unwrap_or_default();
    let mut stored = files::Stored::default();
    if !files.is_empty() {
        let storage = storage.ok_or_else(|| {
            Error::Invalid("files cannot be stored: this server has no internal storage".into())
        })?;
        let context = StorageContext::new(&execution.namespace, &execution.flow_id, &execution.id);
        stored = files::store(storage, &context, declared, files).await?;
        given.extend(std::mem::take(&mut stored.inputs));
    }
    match peregrine_engine::inputs::typed_values(declared, &given) {
        Ok(typed) => {
            let mut outputs = Map::new();
            outputs.insert("onResume".into(), Value::Object(typed));
            Ok(outputs)
        }
        Err(errors) => {
            if let Some(storage) = storage {
                files::discard(storage, &stored.paths).await;
            }
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Err(Error::Invalid(errors.join("\n")))
        }
    }
}
