//! Execution commands carried out by the runtime: start (inputs typed against the flow), kill,
//! resume, follow.

use std::sync::Arc;

use peregrine_engine::Event;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionUpdates, FlowRepository, StartRequest,
};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc};

use crate::runtime::{LocalRuntime, RuntimeError};
use crate::server::flows::MemoryFlowRepository;

/// How many versions a follower's channel holds before the forwarding task waits for it.
const FOLLOW_CHANNEL: usize = 16;

pub struct RuntimeCommands {
    runtime: LocalRuntime,
    flows: Arc<MemoryFlowRepository>,
}

impl RuntimeCommands {
    pub fn new(runtime: LocalRuntime, flows: Arc<MemoryFlowRepository>) -> Self {
        Self { runtime, flows }
    }

    fn listed(&self, execution_id: &str) -> Result<Execution, Error> {
        self.runtime
            .listed(execution_id)
            .ok_or_else(|| Error::NotFound {
                what: "execution",
                id: execution_id.to_string(),
            })
    }
}

impl ExecutionCommands for RuntimeCommands {
    fn start(&self, request: StartRequest) -> BoxFuture<'_, Result<Execution, Error>> {
        Box::pin(async move {
            let StartRequest {
                namespace,
                flow_id,
                inputs,
                labels,
                revision,
            } = request;
            let record = self
                .flows
                .get(&namespace, &flow_id, None)
                .await?
                .ok_or_else(|| Error::NotFound {
                    what: "flow",
                    id: format!("{namespace}.{flow_id}"),
                })?;
            if let Some(revision) = revision.filter(|revision| *revision != record.revision) {
                return Err(Error::Invalid(format!(
                    "revision {revision} cannot run: only the latest revision ({}) of a flow runs for now",
                    record.revision
                )));
            }
            if self.flows.is_disabled(&namespace, &flow_id) {
                return Err(Error::Conflict(format!(
                    "flow {namespace}.{flow_id} is disabled"
                )));
            }
            let id = self
                .runtime
                .execute_with_labels(&namespace, &flow_id, &inputs, labels)
                .map_err(|error| match error {
                    RuntimeError::Inputs(_) => Error::Invalid(error.to_string()),
                    RuntimeError::UnknownFlow(id) => Error::NotFound { what: "flow", id },
                    other => Error::Backend(other.to_string()),
                })?;
            // Answer once the execution is committed: what the caller is told exists does.
            self.runtime.durable(&id).await;
            self.listed(&id)
        })
    }

    fn kill(&self, execution_id: &str) -> BoxFuture<'_, Result<(), Error>> {
        let result = self.listed(execution_id).and_then(|execution| {
            if execution.state.is_terminated() {
                return Err(Error::Conflict(format!(
                    "execution '{execution_id}' has already ended ({})",
                    super::state_name(execution.state.current)
                )));
            }
            self.runtime.send(execution_id, Event::Kill);
            Ok(())
        });
        Box::pin(async move { result })
    }

    fn resume(
        &self,
        execution_id: &str,
        inputs: Option<Map<String, Value>>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let result = self.listed(execution_id).and_then(|execution| {
            if execution.state.current != State::Paused {
                return Err(Error::Conflict(format!(
                    "execution '{execution_id}' is not paused ({})",
                    super::state_name(execution.state.current)
                )));
            }
            self.runtime.send(execution_id, Event::Resume { inputs });
            Ok(())
        });
        Box::pin(async move { result })
    }

    fn follow(&self, execution_id: &str) -> BoxFuture<'_, Result<ExecutionUpdates, Error>> {
        let result = self
            .runtime
            .follow(execution_id)
            .ok_or_else(|| Error::NotFound {
                what: "execution",
                id: execution_id.to_string(),
            })
            .map(|(current, updates)| forward(current, updates));
        Box::pin(async move { result })
    }
}

/// Sends `current`, then every version from `updates`, until a terminal one or until the
/// receiver is dropped.
fn forward(current: Execution, mut updates: broadcast::Receiver<Execution>) -> ExecutionUpdates {
    let (sender, receiver) = mpsc::channel(FOLLOW_CHANNEL);
    tokio::spawn(async move {
        let mut next = Some(current);
        while let Some(execution) = next.take() {
            let ended = execution.state.is_terminated();
            if sender.send(execution).await.is_err() || ended {
                return;
            }
            next = loop {
                let received = tokio::select! {
                    received = updates.recv() => received,
                    () = sender.closed() => return,
                };
                match received {
                    Ok(execution) => break Some(execution),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break None,
                }
            };
        }
    });
    receiver
}
