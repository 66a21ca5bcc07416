//! Execution commands carried out by the runtime: start (inputs typed against the flow, files
//! stored for FILE inputs), webhook calls, kill, resume (with the Pause task's `onResume` inputs
//! typed), follow; replay and labels (`history`).

mod checks;
mod consumed;
mod files;
mod flow_cache;
mod history;
mod polling;
mod queued;
#[cfg(test)]
mod tests;
mod webhook;

use std::sync::Arc;

use peregrine_engine::variables::Globals;
use peregrine_engine::{Event, NewExecution};
use peregrine_model::execution::Execution;
use peregrine_model::flow::Input;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionUpdates, FlowRecord, FlowRepository, InputFile,
    StartRequest, WebhookCall, WebhookOutcome,
};
use peregrine_ports::storage::{Storage, StorageContext};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc};

use crate::expressions::RuntimeExpressions;
use crate::runtime::{LocalRuntime, RuntimeError, RuntimeOptions};
use crate::server::flows::MemoryFlowRepository;
use flow_cache::{CachedFlow, FlowCache};
pub use queued::StoreCommands;

/// How many versions a follower's channel holds before the forwarding task waits for it.
const FOLLOW_CHANNEL: usize = 16;

pub struct RuntimeCommands {
    runtime: LocalRuntime,
    flows: Arc<MemoryFlowRepository>,
    /// The internal storage the runtime's tasks read: where sent files go. Without it, files
    /// are refused.
    storage: Option<Arc<dyn Storage>>,
    /// Renders webhook keys, conditions, inputs and labels (secrets included).
    expressions: RuntimeExpressions,
    globals: Globals,
    compiled: FlowCache,
}

impl RuntimeCommands {
    /// Commands on `runtime`; secrets and `envs` come from the environment, as the runtime's
    /// do by default. Call [`Self::with_options`] with the runtime's options to take files.
    pub fn new(runtime: LocalRuntime, flows: Arc<MemoryFlowRepository>) -> Self {
        let defaults = RuntimeOptions::from_env();
        // Flows are compiled against the catalogue the runtime was built with, not a copy.
        let compiled = FlowCache::new(runtime.registry());
        Self {
            runtime,
            flows,
            storage: None,
            expressions: RuntimeExpressions::new(defaults.services),
            globals: defaults.globals,
            compiled,
        }
    }

    /// Uses the services and configuration values the runtime was started with: files are
    /// stored in its internal storage, expressions see its secrets, `envs` and `globals`.
    pub fn with_options(mut self, options: &RuntimeOptions) -> Self {
        self.storage = Some(options.services.storage.clone());
        self.expressions = RuntimeExpressions::new(options.services.clone());
        self.globals = options.globals.clone();
        self
    }

    fn listed(&self, execution_id: &str) -> Result<Execution, Error> {
        self.runtime
            .listed(execution_id)
            .ok_or_else(|| Error::NotFound {
                what: "execution",
                id: execution_id.to_string(),
            })
    }

    /// The latest revision of a flow that is not deleted.
    async fn latest(&self, namespace: &str, flow_id: &str) -> Result<FlowRecord, Error> {
        checks::latest(self.flows.as_ref(), namespace, flow_id).await
    }

    fn storage(&self) -> Result<&dyn Storage, Error> {
        self.storage.as_deref().ok_or_else(|| {
            Error::Invalid("files cannot be stored: this server has no internal storage".into())
        })
    }

    /// Creates the execution, removing its stored files if it cannot be.
    async fn create(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
        new: NewExecution,
        stored: &[peregrine_ports::storage::StoragePath],
    ) -> Result<Execution, Error> {
        match self.runtime.create(namespace, flow_id, inputs, new) {
            Ok(id) => {
                // Answer once the execution is committed: what the caller is told exists does.
                self.runtime.durable(&id).await;
                self.listed(&id)
            }
            Err(error) => {
                if let Some(storage) = self.storage.as_deref() {
                    files::discard(storage, stored).await;
                }
                Err(match error {
                    RuntimeError::Inputs(_) => Error::Invalid(error.to_string()),
                    RuntimeError::UnknownFlow(id) => Error::NotFound { what: "flow", id },
                    other => Error::Backend(other.to_string()),
                })
            }
        }
    }

    /// The `onResume` inputs of the execution's first paused task, when it is a Pause task
    /// that declares some.
    async fn on_resume_inputs(&self, execution: &Execution) -> Result<Option<Vec<Input>>, Error> {
        let record = self
            .flows
            .get(
                &execution.namespace,
                &execution.flow_id,
                Some(execution.flow_revision),
            )
            .await?;
        let Some(record) = record else {
            return Ok(None);
        };
        let compiled = self.compiled.get(&record)?;
        Ok(checks::on_resume_inputs(&compiled.plan, execution))
    }

    async fn start_now(&self, request: StartRequest) -> Result<Execution, Error> {
        let StartRequest {
            namespace,
            flow_id,
            mut inputs,
            labels,
            revision,
            files,
        } = request;
        let record = self.latest(&namespace, &flow_id).await?;
        checks::latest_revision(revision, &record)?;
        if self.flows.is_disabled(&namespace, &flow_id) {
            return Err(Error::Conflict(format!(
                "flow {namespace}.{flow_id} is disabled"
            )));
        }
        let new = NewExecution {
            id: peregrine_executor::new_id(),
            labels,
            ..NewExecution::default()
        };
        let mut stored = files::Stored::default();
        if !files.is_empty() {
            let compiled = self.compiled.get(&record)?;
            let context = StorageContext::new(&namespace, &flow_id, &new.id);
            stored =
                files::store(self.storage()?, &context, &compiled.plan.flow.inputs, files).await?;
            inputs.extend(std::mem::take(&mut stored.inputs));
        }
        self.create(&namespace, &flow_id, &inputs, new, &stored.paths)
            .await
    }

    async fn webhook_now(&self, call: WebhookCall) -> Result<WebhookOutcome, Error> {
        let record = self.latest(&call.namespace, &call.flow_id).await?;
        let compiled: Arc<CachedFlow> = self.compiled.get(&record)?;
        let flow = &compiled.plan.flow;
        checks::enabled(flow)?;
        let context = webhook::Context {
            expressions: &self.expressions,
            globals: &self.globals,
        };
        let Some(matched) = webhook::resolve(&compiled, call, &context)? else {
            return Ok(WebhookOutcome::Skipped);
        };
        let execution = self
            .create(&flow.namespace, &flow.id, &matched.inputs, matched.new, &[])
            .await?;
        Ok(WebhookOutcome::Started {
            execution: Box::new(execution),
            wait: matched.wait,
            return_outputs: matched.return_outputs,
        })
    }

    async fn resume_now(
        &self,
        execution_id: &str,
        inputs: Option<Map<String, Value>>,
        files: Vec<InputFile>,
    ) -> Result<(), Error> {
        let execution = self.listed(execution_id)?;
        checks::paused(&execution)?;
        let Some(declared) = self.on_resume_inputs(&execution).await? else {
            self.runtime
                .send(execution_id, Event::Resume { inputs: None });
            return Ok(());
        };
        let storage = self.storage.as_deref();
        let outputs = checks::resume_outputs(storage, &execution, &declared, inputs, files).await?;
        self.runtime.send(
            execution_id,
            Event::Resume {
                inputs: Some(outputs),
            },
        );
        Ok(())
    }
}

impl ExecutionCommands for RuntimeCommands {
    fn start(&self, request: StartRequest) -> BoxFuture<'_, Result<Execution, Error>> {
        Box::pin(self.start_now(request))
    }

    fn webhook(&self, call: WebhookCall) -> BoxFuture<'_, Result<WebhookOutcome, Error>> {
        Box::pin(self.webhook_now(call))
    }

    fn kill(&self, execution_id: &str) -> BoxFuture<'_, Result<(), Error>> {
        let result = self.listed(execution_id).and_then(|execution| {
            checks::running(&execution)?;
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
        self.resume_with_files(execution_id, inputs, Vec::new())
    }

    fn restart(&self, execution_id: &str) -> BoxFuture<'_, Result<Execution, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move {
            let store = self.runtime.store();
            let execution = match self.runtime.listed(&id) {
                Some(execution) => execution,
                None => store.get(&id).await?.ok_or_else(|| Error::NotFound {
                    what: "execution",
                    id: id.clone(),
                })?,
            };
            checks::restartable(&execution)?;
            let state = execution.state.current;
            self.runtime.send(&id, Event::Restart);
            // An execution no longer in memory is read back by the runtime first: until then
            // the wait sees the stored, unchanged version and gives up at once; ask again.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let moved = move |execution: &Execution| execution.state.current != state;
                match self.runtime.wait_for(&id, left, moved).await {
                    Ok(restarted) => return Ok(restarted),
                    Err(error) if left.is_zero() => return Err(Error::Backend(error.to_string())),
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                }
            }
        })
    }

    fn replay(
        &self,
        execution_id: &str,
        task_run_id: Option<String>,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Execution, Error>> {
        let execution_id = execution_id.to_string();
        Box::pin(async move { self.replay_now(&execution_id, task_run_id, revision).await })
    }

    fn set_labels(
        &self,
        execution_id: &str,
        labels: Vec<peregrine_model::flow::Label>,
    ) -> BoxFuture<'_, Result<Execution, Error>> {
        let execution_id = execution_id.to_string();
        Box::pin(async move { self.set_labels_now(&execution_id, labels).await })
    }

    fn resume_with_files(
        &self,
        execution_id: &str,
        inputs: Option<Map<String, Value>>,
        files: Vec<InputFile>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let execution_id = execution_id.to_string();
        Box::pin(async move { self.resume_now(&execution_id, inputs, files).await })
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
