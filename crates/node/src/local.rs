//! One execution run to its end inside this process, on throw-away in-memory state: what
//! `peregrine flow test` does.

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::execution::Execution;
use peregrine_model::{Flow, Registry};
use peregrine_plugin_api::LogEntry;
use serde_json::{Map, Value};

use crate::runtime::LocalRuntime;
pub use crate::runtime::RuntimeError as LocalRunError;

/// The end of a local run: the execution and every log line written.
#[derive(Debug)]
pub struct LocalRun {
    pub execution: Execution,
    pub logs: Vec<LogEntry>,
    /// The execution did not end in time and was killed.
    pub timed_out: bool,
}

/// Runs one execution of `flow` with raw `inputs` (text or JSON values) until it ends; `related`
/// flows are loaded too, for subflows.
pub async fn run_flow(
    registry: Arc<Registry>,
    flow: Flow,
    related: Vec<Flow>,
    inputs: &Map<String, Value>,
    timeout: Duration,
) -> Result<LocalRun, LocalRunError> {
    let runtime = LocalRuntime::start(registry);
    let (namespace, flow_id) = (flow.namespace.clone(), flow.id.clone());
    for other in related {
        runtime.load(other)?;
    }
    runtime.load(flow)?;
    let id = runtime.execute(&namespace, &flow_id, inputs)?;
    let ended = |execution: &Execution| execution.state.is_terminated();
    let (execution, timed_out) = match runtime.wait_for(&id, timeout, ended).await {
        Ok(execution) => (execution, false),
        Err(crate::runtime::RuntimeError::Timeout { .. }) => {
            runtime.send(&id, peregrine_engine::Event::Kill);
            let grace = Duration::from_secs(5);
            let execution = match runtime.wait_for(&id, grace, ended).await {
                Ok(execution) => execution,
                Err(_) => runtime
                    .execution(&id)
                    .ok_or(crate::runtime::RuntimeError::UnknownExecution(id.clone()))?,
            };
            (execution, true)
        }
        Err(error) => return Err(error),
    };
    let query = peregrine_ports::repository::LogQuery {
        execution_id: Some(id.clone()),
        ..Default::default()
    };
    let logs = runtime.store().find(&query).await?;
    Ok(LocalRun {
        execution,
        logs,
        timed_out,
    })
}
