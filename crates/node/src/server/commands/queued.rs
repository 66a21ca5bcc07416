//! Execution commands of a webserver of its own (`peregrine server webserver`): checked against
//! the shared database, then written as `command:` rows the executor applies (its own checks
//! made again there). Answers come from the database: a start answers once the execution is
//! committed, a follow reads each new version.

use std::sync::Arc;
use std::time::Duration;

use peregrine_engine::NewExecution;
use peregrine_engine::variables::Globals;
use peregrine_model::execution::Execution;
use peregrine_model::flow::Label;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::queue::OutboxQueue;
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionUpdates, FlowRecord, FlowRepository, InputFile,
    StartRequest, WebhookCall, WebhookOutcome,
};
use peregrine_ports::storage::{Storage, StorageContext};
use peregrine_ports::store::ExecutionBackend;
use serde_json::{Map, Value};

use super::consumed::Consumed;
use super::flow_cache::{CachedFlow, FlowCache};
use super::{checks, files, polling, webhook};
use crate::expressions::RuntimeExpressions;
use crate::runtime::{RowCommand, RuntimeOptions};

/// How long a start waits for the executor to take it before answering with the execution as
/// created (the command is durable: an executor starts it once one runs).
const VISIBLE: Duration = Duration::from_secs(5);
/// How long a restart, replay or label change waits for the executor to carry it out.
const CARRIED_OUT: Duration = Duration::from_secs(30);

pub struct StoreCommands {
    store: Arc<dyn ExecutionBackend>,
    flows: Arc<dyn FlowRepository>,
    storage: Arc<dyn Storage>,
    expressions: RuntimeExpressions,
    globals: Globals,
    compiled: FlowCache,
    consumed: Consumed,
}

impl StoreCommands {
    /// Commands over the shared `store` (its outbox read through `queue`) and `flows`, with the
    /// services and configuration values of `options` (files go to its internal storage;
    /// expressions see its secrets).
    pub fn new(
        registry: Arc<peregrine_model::Registry>,
        store: Arc<dyn ExecutionBackend>,
        queue: Arc<dyn OutboxQueue>,
        flows: Arc<dyn FlowRepository>,
        options: &RuntimeOptions,
    ) -> Self {
        Self {
            store,
            flows,
            storage: options.services.storage.clone(),
            expressions: RuntimeExpressions::new(options.services.clone()),
            globals: options.globals.clone(),
            compiled: FlowCache::new(registry),
            consumed: Consumed::new(queue),
        }
    }

    /// Writes a command; answers its row's key.
    async fn put(&self, id: &str, command: RowCommand) -> Result<String, Error> {
        crate::command_rows::put(self.store.as_ref(), id, &command).await
    }

    async fn stored(&self, id: &str) -> Result<Execution, Error> {
        self.store.get(id).await?.ok_or_else(|| Error::NotFound {
            what: "execution",
            id: id.to_string(),
        })
    }

    async fn latest(&self, namespace: &str, flow_id: &str) -> Result<FlowRecord, Error> {
        checks::latest(self.flows.as_ref(), namespace, flow_id).await
    }

    /// Writes the start of `new` on the compiled revision, inputs typed against its flow, then
    /// answers the execution once it is committed (or as created, if no executor took it yet).
    async fn create(
        &self,
        compiled: &CachedFlow,
        inputs: &Map<String, Value>,
        mut new: NewExecution,
    ) -> Result<Execution, Error> {
        let flow = &compiled.plan.flow;
        new.inputs = peregrine_engine::inputs::typed_inputs(flow, inputs).map_err(|errors| {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Error::Invalid(format!("invalid inputs:\n  {}", errors.join("\n  ")))
        })?;
        let id = new.id.clone();
        let command = RowCommand::Start {
            namespace: flow.namespace.clone(),
            flow_id: flow.id.clone(),
            revision: compiled.revision,
            inputs: new.inputs.clone(),
            labels: new.labels.clone(),
            trigger: new.trigger.clone(),
        };
        let key = self.put(&id, command).await?;
        if self.consumed.taken(&id, &key, VISIBLE).await
            && let Some(execution) = self.store.get(&id).await?
        {
            return Ok(execution);
        }
        let now = jiff::Timestamp::now();
        Ok(peregrine_engine::start::new_execution(&compiled.plan, new, now).execution)
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
        let compiled = self.compiled.get(&record)?;
        checks::enabled(&compiled.plan.flow)?;
        let new = NewExecution {
            id: peregrine_executor::new_id(),
            labels,
            ..NewExecution::default()
        };
        let mut stored = files::Stored::default();
        if !files.is_empty() {
            let context = StorageContext::new(&namespace, &flow_id, &new.id);
            let declared = &compiled.plan.flow.inputs;
            stored = files::store(self.storage.as_ref(), &context, declared, files).await?;
            inputs.extend(std::mem::take(&mut stored.inputs));
        }
        let created = self.create(&compiled, &inputs, new).await;
        if created.is_err() {
            files::discard(self.storage.as_ref(), &stored.paths).await;
        }
        created
    }

    async fn webhook_now(&self, call: WebhookCall) -> Result<WebhookOutcome, Error> {
        let record = self.latest(&call.namespace, &call.flow_id).await?;
        let compiled = self.compiled.get(&record)?;
        checks::enabled(&compiled.plan.flow)?;
        let context = webhook::Context {
            expressions: &self.expressions,
            globals: &self.globals,
        };
        let Some(matched) = webhook::resolve(&compiled, call, &context)? else {
            return Ok(WebhookOutcome::Skipped);
        };
        let execution = self.create(&compiled, &matched.inputs, matched.new).await?;
        Ok(WebhookOutcome::Started {
            execution: Box::new(execution),
            wait: matched.wait,
            return_outputs: matched.return_outputs,
        })
    }

    async fn kill_now(&self, id: &str) -> Result<(), Error> {
        checks::running(&self.stored(id).await?)?;
        let event = peregrine_engine::Event::Kill;
        self.put(id, RowCommand::Apply { event }).await.map(|_| ())
    }

    async fn resume_now(
        &self,
        id: &str,
        inputs: Option<Map<String, Value>>,
        files: Vec<InputFile>,
    ) -> Result<(), Error> {
        let execution = self.stored(id).await?;
        checks::paused(&execution)?;
        let record = self
            .flows
            .get(
                &execution.namespace,
                &execution.flow_id,
                Some(execution.flow_revision),
            )
            .await?;
        let compiled = record
            .map(|record| self.compiled.get(&record))
            .transpose()?;
        let declared = compiled
            .as_deref()
            .and_then(|compiled| checks::on_resume_inputs(&compiled.plan, &execution));
        let event = match declared {
            None => peregrine_engine::Event::Resume { inputs: None },
            Some(declared) => {
                let storage = Some(self.storage.as_ref());
                let outputs =
                    checks::resume_outputs(storage, &execution, &declared, inputs, files).await?;
                peregrine_engine::Event::Resume {
                    inputs: Some(outputs),
                }
            }
        };
        self.put(id, RowCommand::Apply { event }).await.map(|_| ())
    }

    async fn restart_now(&self, id: &str) -> Result<Execution, Error> {
        let execution = self.stored(id).await?;
        checks::restartable(&execution)?;
        let event = peregrine_engine::Event::Restart;
        let key = self.put(id, RowCommand::Apply { event }).await?;
        self.carried_out(id, &key, id, "restarted").await
    }

    async fn replay_now(
        &self,
        id: &str,
        task_run_id: Option<String>,
        revision: Option<u32>,
    ) -> Result<Execution, Error> {
        let execution = self.stored(id).await?;
        if task_run_id.is_some() {
            checks::ended(&execution, "be replayed from a task run")?;
        }
        if let Some(revision) = revision {
            let (namespace, flow_id) = (&execution.namespace, &execution.flow_id);
            checks::revision_exists(self.flows.as_ref(), namespace, flow_id, revision).await?;
        }
        // In the old execution's partition: the executor running it creates the new one.
        let count = self.store.partition_count();
        let new_id =
            peregrine_executor::new_id_in(peregrine_ports::partition::of(id, count), count);
        let command = RowCommand::Replay {
            new_id: new_id.clone(),
            task_run_id,
            revision,
        };
        let key = self.put(id, command).await?;
        self.carried_out(id, &key, &new_id, "replayed").await
    }

    async fn set_labels_now(&self, id: &str, labels: Vec<Label>) -> Result<Execution, Error> {
        let execution = self.stored(id).await?;
        checks::ended(&execution, "have its labels set")?;
        let key = self.put(id, RowCommand::Labels { labels }).await?;
        self.carried_out(id, &key, id, "relabelled").await
    }

    /// Once the executor has carried out the command of row `key` of execution `id`, the
    /// execution `answer` as stored; an error saying no executor did it in time otherwise.
    async fn carried_out(
        &self,
        id: &str,
        key: &str,
        answer: &str,
        what: &str,
    ) -> Result<Execution, Error> {
        if !self.consumed.taken(id, key, CARRIED_OUT).await {
            return Err(Error::Backend(format!(
                "execution '{id}' was not {what} within {}s: is an executor running?",
                CARRIED_OUT.as_secs()
            )));
        }
        self.stored(answer).await
    }
}

impl ExecutionCommands for StoreCommands {
    fn start(&self, request: StartRequest) -> BoxFuture<'_, Result<Execution, Error>> {
        Box::pin(self.start_now(request))
    }

    fn webhook(&self, call: WebhookCall) -> BoxFuture<'_, Result<WebhookOutcome, Error>> {
        Box::pin(self.webhook_now(call))
    }

    fn kill(&self, execution_id: &str) -> BoxFuture<'_, Result<(), Error>> {
        let id = execution_id.to_string();
        Box::pin(async move { self.kill_now(&id).await })
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
        Box::pin(async move { self.restart_now(&id).await })
    }

    fn replay(
        &self,
        execution_id: &str,
        task_run_id: Option<String>,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Execution, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move { self.replay_now(&id, task_run_id, revision).await })
    }

    fn set_labels(
        &self,
        execution_id: &str,
        labels: Vec<Label>,
    ) -> BoxFuture<'_, Result<Execution, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move { self.set_labels_now(&id, labels).await })
    }

    fn resume_with_files(
        &self,
        execution_id: &str,
        inputs: Option<Map<String, Value>>,
        files: Vec<InputFile>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let id = execution_id.to_string();
        Box::pin(async move { self.resume_now(&id, inputs, files).await })
    }

    fn follow(&self, execution_id: &str) -> BoxFuture<'_, Result<ExecutionUpdates, Error>> {
        let id = execution_id.to_string();
        let executions: Arc<dyn peregrine_ports::repository::ExecutionRepository> =
            self.store.clone();
        Box::pin(async move { polling::follow_stored(executions, &id).await })
    }
}
