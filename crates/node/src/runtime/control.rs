//! The runtime's answer to tasks that act on executions (`execution.Resume`): checks made against
//! the executor's executions, then the event sent through the event loop like any other.

use std::sync::{Arc, Mutex};

use peregrine_engine::Event;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_model::tasks::PauseSpec;
use peregrine_plugin_api::{ControlError, ExecutionControl, ResumeRequest};
use peregrine_ports::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::{Message, Shared};

/// Commands from tasks, carried out by this process's executor.
pub(super) struct RuntimeControl {
    shared: Arc<Mutex<Shared>>,
    sender: mpsc::UnboundedSender<Message>,
}

impl RuntimeControl {
    pub(super) fn new(shared: Arc<Mutex<Shared>>, sender: mpsc::UnboundedSender<Message>) -> Self {
        Self { shared, sender }
    }
}

/// The event that resumes the execution, once the request is checked against it.
pub(super) fn resume_event(
    shared: &Mutex<Shared>,
    request: ResumeRequest,
) -> Result<Event, ControlError> {
    let shared = shared
        .lock()
        .map_err(|_| ControlError::Unavailable("the runtime is poisoned".into()))?;
    let id = &request.execution_id;
    let execution = shared
        .executor
        .execution(id)
        .ok_or_else(|| ControlError::NotFound(id.clone()))?;
    if let (Some(namespace), Some(flow_id)) = (&request.namespace, &request.flow_id)
        && (execution.namespace != *namespace || execution.flow_id != *flow_id)
    {
        return Err(ControlError::Invalid(format!(
            "execution {id} is not an execution of flow {namespace}.{flow_id}"
        )));
    }
    let Some(paused) = first_paused(execution) else {
        return Err(ControlError::Conflict(format!(
            "execution {id} is not paused ({:?})",
            execution.state.current
        )));
    };
    // As a resume from the API: values reach only a Pause task that asks for some, typed
    // against its `onResume` inputs (those of the execution's own flow revision), as its
    // `onResume` output.
    let declared = shared
        .executor
        .plan(id)
        .and_then(|plan| {
            let node = plan.find(&paused.task_id)?;
            plan.node(node).task.spec::<PauseSpec>().ok()
        })
        .map(|pause| pause.on_resume)
        .filter(|declared| !declared.is_empty());
    let Some(declared) = declared else {
        return Ok(Event::Resume { inputs: None });
    };
    let given = request.inputs.unwrap_or_default();
    let typed = peregrine_engine::inputs::typed_values(&declared, &given).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        ControlError::Invalid(errors.join("\n"))
    })?;
    let mut outputs = Map::new();
    outputs.insert("onResume".into(), Value::Object(typed));
    Ok(Event::Resume {
        inputs: Some(outputs),
    })
}

/// The first paused task run of an execution.
fn first_paused(execution: &Execution) -> Option<&peregrine_model::execution::TaskRun> {
    execution
        .task_run_list
        .iter()
        .find(|run| run.state.current == State::Paused)
}

impl ExecutionControl for RuntimeControl {
    fn resume(&self, request: ResumeRequest) -> BoxFuture<'_, Result<(), ControlError>> {
        let id = request.execution_id.clone();
        let result = resume_event(&self.shared, request).and_then(|event| {
            self.sender
                // Tasks of this process: every execution runs here.
                .send(Message::Event {
                    id,
                    event,
                    generation: 0,
                })
                .map_err(|_| ControlError::Unavailable("the runtime has stopped".into()))
        });
        Box::pin(async move { result })
    }

    fn forget(&self, execution_ids: &[String]) {
        if let Ok(mut shared) = self.shared.lock() {
            for id in execution_ids {
                shared.forget(id);
            }
        }
    }
}
