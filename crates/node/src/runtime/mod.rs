//! Every role in this process: an executor, a worker pool and the wiring between them
//! (channels, timers, subflows), over the executor's store (in memory for throw-away runs, SQLite
//! for the server). It runs `peregrine flow test`, the compatibility runner and the server.
//!
//! One event loop owns the executor. It takes every waiting message, applies them, commits what
//! changed in one store commit (task runs, frames, outbox rows, log lines), and only then
//! publishes the new versions and carries out the effects: durable before visible.

mod concurrency;
mod control;
mod effects;
mod finished;
mod labels;
mod logs;
mod outbox;
mod partitions;
mod recovery;
mod remote;
mod replay;
mod revisions;
mod step;
mod subscribers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use peregrine_engine::variables::Globals;
use peregrine_engine::{Event, FlowPlan, NewExecution};
use peregrine_executor::Executor;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_model::{Flow, Registry};
use peregrine_ports::repository::FlowRepository;
use peregrine_ports::store::{ExecutionBackend, ParentLink};
use peregrine_worker::{Worker, WorkerOptions};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};

use crate::expressions::RuntimeExpressions;

pub use recovery::Recovered;
pub(crate) use remote::RowCommand;
pub use replay::first_transition;
pub use subscribers::ExecutionHook;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{0}")]
    Plan(#[from] peregrine_engine::plan::PlanError),
    #[error("invalid inputs:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Inputs(Vec<peregrine_engine::inputs::InputError>),
    #[error("flow {0} is not loaded")]
    UnknownFlow(String),
    #[error("execution {0} is not known")]
    UnknownExecution(String),
    #[error("execution {id} did not reach the awaited state within {timeout:?} (it is {state:?})")]
    Timeout {
        id: String,
        timeout: Duration,
        state: State,
    },
    #[error("{0}")]
    Store(#[from] peregrine_ports::repository::Error),
    #[error("{0}")]
    Replay(#[from] peregrine_engine::replay::ReplayError),
    #[error("this executor runs no partition yet: try again shortly")]
    NoPartition,
    #[error("execution {0} belongs to a partition another executor runs")]
    Foreign(String),
}

/// What goes through the event loop.
///
/// Messages about an execution carry the generation of its partition when they were made (see
/// `partitions.rs`; 0 when every execution runs here): one made before its partition was given
/// up is dropped, even once the partition is taken back.
pub(crate) enum Message {
    Event {
        id: String,
        event: Event,
        generation: u64,
    },
    /// A new execution its flow's concurrency limit holds back: QUEUED, CANCELLED or FAILED.
    Hold {
        id: String,
        state: State,
        generation: u64,
    },
    /// Task log lines are waiting: commit them.
    Flush,
    /// A worker's report or another process's command, read from the outbox row `key`, which
    /// the commit applying it deletes (rows that ask nothing, or cannot be read, are deleted
    /// too).
    FromRow {
        id: String,
        key: String,
        event: Option<Event>,
        generation: u64,
    },
    /// New labels for an ended execution (see `labels.rs`).
    Labels {
        id: String,
        labels: Vec<peregrine_model::flow::Label>,
        generation: u64,
    },
    /// Drop what is held of the executions of a partition given up (see `partitions.rs`).
    Give {
        partition: u16,
        count: u16,
        done: oneshot::Sender<()>,
    },
}

/// How a new execution came to be: the parent waiting for it, and the outbox row its first
/// commit consumes (the subflow start or replay that created it).
#[derive(Clone, Debug, Default)]
pub(crate) struct Origin {
    pub parent: Option<ParentLink>,
    pub consumes: Option<(String, String)>,
}

struct Shared {
    executor: Executor,
    /// The latest loaded plan of each flow.
    plans: HashMap<String, Arc<FlowPlan>>,
    /// Plans of older revisions that executions taken back still run on, by (flow, revision).
    revisions: HashMap<(String, u32), Arc<FlowPlan>>,
    watchers: HashMap<String, watch::Sender<Execution>>,
    /// Child execution id to the parent waiting for it (subflows with `wait`).
    parents: HashMap<String, ParentLink>,
    /// Followers and hooks of the API server (see `LocalRuntime::follow`).
    subscribers: subscribers::Subscribers,
    /// Outbox rows to delete with an execution's first commit.
    consumes: HashMap<String, (String, String)>,
    /// Executions created but not committed yet, with who waits for their first commit.
    uncommitted: HashMap<String, Vec<oneshot::Sender<()>>>,
    /// Ended executions still listed (at most `keep_finished`, within a task-run budget).
    finished: finished::Finished,
    /// Flow concurrency limits.
    limits: concurrency::Limits,
    /// Who waits for an execution to satisfy a condition (see `LocalRuntime::wait_for`).
    waiters: HashMap<String, Vec<Waiter>>,
    /// The executions whose step is applied and not committed yet (published after it is).
    committing: std::collections::HashSet<String>,
}

impl Shared {
    /// Drops what is kept of an ended execution (a running one is kept); true when something
    /// was dropped.
    fn forget(&mut self, execution_id: &str) -> bool {
        self.subscribers.forget(execution_id);
        self.finished.remove(execution_id);
        let held = self
            .executor
            .execution(execution_id)
            .is_some_and(|execution| execution.state.is_terminated())
            && self.executor.evict(execution_id);
        self.watchers.remove(execution_id).is_some() || held
    }
}

/// A condition on an execution.
type Condition = Arc<dyn Fn(&Execution) -> bool + Send + Sync>;

/// A condition, and where to send the first version that satisfies it.
type Waiter = (Condition, oneshot::Sender<Execution>);

/// What the runtime is built with: task services, the `envs`/`globals` expression variables,
/// the executor's store, and how many ended executions stay in memory.
#[derive(Clone)]
pub struct RuntimeOptions {
    pub services: peregrine_plugin_api::TaskServices,
    pub globals: Globals,
    pub store: Arc<dyn ExecutionBackend>,
    /// Ended executions kept in memory for `execution`/`executions`/`wait_for`; older ones are
    /// read from the store. `usize::MAX` for throw-away runs.
    pub keep_finished: usize,
    /// Worker slots: task runs running at once.
    pub worker_slots: usize,
    /// Where the revisions of flows are stored: an execution taken back runs on its own
    /// revision, read from here when it is not the loaded one.
    pub flows: Option<Arc<dyn FlowRepository>>,
    /// Set when workers run in other processes: jobs are claimed from the store's outbox
    /// through this queue and their results read back from it; no task runs in this process.
    pub queue: Option<Arc<dyn peregrine_ports::queue::OutboxQueue>>,
    /// Set on a database other processes share: the `command:` rows of webservers, schedulers
    /// and workers of their own are read from here (whether or not workers run here).
    pub commands: Option<Arc<dyn peregrine_ports::queue::OutboxQueue>>,
    /// Set when executors share the load: the number of partitions. The runtime then runs no
    /// execution until partitions are taken ([`LocalRuntime::take_partition`]).
    pub partitions: Option<u16>,
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("keep_finished", &self.keep_finished)
            .field("worker_slots", &self.worker_slots)
            .field("remote_workers", &self.queue.is_some())
            .finish_non_exhaustive()
    }
}

impl RuntimeOptions {
    /// In-memory store, storage and key-value store; secrets from `SECRET_*` variables and
    /// `envs` from `KESTRA_*` variables (prefix removed, lower case), as Kestra OSS does.
    pub fn from_env() -> Self {
        let envs: Map<String, Value> = std::env::vars()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix("KESTRA_")?;
                Some((name.to_ascii_lowercase(), Value::String(value)))
            })
            .collect();
        Self {
            services: peregrine_plugin_api::TaskServices {
                secrets: Arc::new(peregrine_ports::secrets::EnvSecrets::from_env()),
                ..peregrine_plugin_api::TaskServices::in_memory()
            },
            globals: Globals {
                envs: Value::Object(envs),
                globals: Value::Object(Map::new()),
            },
            store: Arc::new(peregrine_ports::memory::MemoryExecutions::new()),
            keep_finished: usize::MAX,
            worker_slots: 16,
            flows: None,
            queue: None,
            commands: None,
            partitions: None,
        }
    }
}

/// A cheap-to-clone handle on the in-process runtime.
#[derive(Clone)]
pub struct LocalRuntime {
    registry: Arc<Registry>,
    shared: Arc<Mutex<Shared>>,
    sender: mpsc::UnboundedSender<Message>,
    worker: Worker,
    store: Arc<dyn ExecutionBackend>,
    flows: Option<Arc<dyn FlowRepository>>,
    /// Workers in other processes (see `remote.rs`), or none: this process's worker runs jobs.
    remote: Option<Arc<dyn peregrine_ports::queue::OutboxQueue>>,
    /// Where the `command:` rows of other processes are read from, if any.
    commands: Option<Arc<dyn peregrine_ports::queue::OutboxQueue>>,
    /// The partitions run here, when executors share the load.
    partitions: partitions::Partitioning,
    pending_logs: Arc<logs::PendingLogs>,
    flow_triggers: Arc<crate::flow_triggers::FlowTriggers>,
    keep_finished: usize,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntime").finish_non_exhaustive()
    }
}

fn uid(namespace: &str, flow_id: &str) -> String {
    format!("{namespace}.{flow_id}")
}

impl LocalRuntime {
    /// Starts the runtime's event loop on the current tokio runtime, on in-memory state.
    pub fn start(registry: Arc<Registry>) -> Self {
        Self::start_with(registry, RuntimeOptions::from_env())
    }

    /// Starts the runtime with the given services, store and configuration values. Call
    /// [`Self::recover`] once the flows are loaded to take back what a previous process left.
    pub fn start_with(registry: Arc<Registry>, options: RuntimeOptions) -> Self {
        Self::start_with_runners(registry, options, crate::catalogue::runners())
    }

    /// [`Self::start_with`], with the worker running `runners` (a catalogue with extra task
    /// types, such as the test-only ones of Kestra's test flows).
    pub fn start_with_runners(
        registry: Arc<Registry>,
        options: RuntimeOptions,
        runners: peregrine_plugin_api::Runners,
    ) -> Self {
        let RuntimeOptions {
            services,
            globals,
            store,
            keep_finished,
            worker_slots,
            flows,
            queue,
            commands,
            partitions,
        } = options;
        let expressions = Arc::new(RuntimeExpressions::new(services.clone()));
        let (sender, receiver) = mpsc::unbounded_channel();
        let pending_logs = Arc::new(logs::PendingLogs::new(sender.clone()));
        let shared = Arc::new(Mutex::new(Shared {
            executor: match partitions {
                Some(count) => {
                    Executor::new(expressions.clone(), globals.clone()).partitioned(count)
                }
                None => Executor::new(expressions.clone(), globals.clone()),
            },
            plans: HashMap::new(),
            revisions: HashMap::new(),
            watchers: HashMap::new(),
            parents: HashMap::new(),
            subscribers: subscribers::Subscribers::default(),
            consumes: HashMap::new(),
            uncommitted: HashMap::new(),
            finished: finished::Finished::new(keep_finished, finished::MAX_TASK_RUNS),
            limits: concurrency::Limits::default(),
            waiters: HashMap::new(),
            committing: std::collections::HashSet::new(),
        }));
        // Tasks read execution logs (log.Fetch) from the store the lines go to, and act on
        // executions (execution.Resume) through this runtime's executor.
        let services = peregrine_plugin_api::TaskServices {
            logs: store.clone(),
            executions: store.clone(),
            control: Arc::new(control::RuntimeControl::new(shared.clone(), sender.clone())),
            ..services
        };
        let flow_triggers = Arc::new(crate::flow_triggers::FlowTriggers::new(
            expressions.clone(),
            globals.clone(),
            pending_logs.clone(),
        ));
        let worker = Worker::new(
            WorkerOptions {
                id: "local".into(),
                slots: worker_slots,
                hand_over_directories: false,
            },
            runners.shared(),
            expressions.clone(),
            pending_logs.clone(),
            services,
        );
        let runtime = Self {
            registry,
            shared,
            sender,
            worker,
            store,
            flows,
            remote: queue,
            commands,
            partitions: partitions.map_or_else(
                partitions::Partitioning::default,
                partitions::Partitioning::among,
            ),
            pending_logs,
            flow_triggers,
            keep_finished,
        };
        tokio::spawn(runtime.clone().event_loop(receiver));
        runtime
    }

    /// The plugin catalogue the runtime's flows are compiled against.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// The executor's store, which also serves the executions and logs.
    pub fn store(&self) -> Arc<dyn ExecutionBackend> {
        self.store.clone()
    }

    /// Makes a flow available to executions and subflows.
    pub fn load(&self, flow: Flow) -> Result<(), RuntimeError> {
        let key = uid(&flow.namespace, &flow.id);
        if self.partitions.count().is_some() && flow.concurrency.is_some() {
            eprintln!(
                "executor: flow {key} has a concurrency limit; executors sharing the load each                  count the executions they run against it"
            );
        }
        let registry = self.registry.clone();
        let plan = FlowPlan::new(Arc::new(flow), &|type_name| {
            crate::catalogue::role_of(&registry, type_name)
        })?;
        if let Ok(mut shared) = self.shared.lock() {
            shared.plans.insert(key, Arc::new(plan));
        }
        Ok(())
    }

    fn plan(&self, namespace: &str, flow_id: &str) -> Result<Arc<FlowPlan>, RuntimeError> {
        let key = uid(namespace, flow_id);
        self.shared
            .lock()
            .ok()
            .and_then(|shared| shared.plans.get(&key).cloned())
            .ok_or(RuntimeError::UnknownFlow(key))
    }

    /// Creates and starts an execution of a loaded flow; `inputs` are typed and checked against
    /// the flow's inputs (text is read as the declared type). Returns the execution id.
    pub fn execute(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
    ) -> Result<String, RuntimeError> {
        self.create(namespace, flow_id, inputs, NewExecution::default())
    }

    /// Like [`Self::execute`], but puts `inputs` into the execution as they are, unchecked (the
    /// way Kestra's tests start executions without input parsing).
    pub fn execute_unchecked(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: Map<String, Value>,
    ) -> Result<String, RuntimeError> {
        self.execute_labelled(namespace, flow_id, inputs, Vec::new(), false)
    }

    /// Starts an execution with labels given at creation; `checked` types and checks the inputs
    /// against the flow's, otherwise they go in as they are (with the declared defaults).
    pub fn execute_labelled(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: Map<String, Value>,
        labels: Vec<peregrine_model::flow::Label>,
        checked: bool,
    ) -> Result<String, RuntimeError> {
        let new = NewExecution {
            labels,
            ..NewExecution::default()
        };
        if checked {
            return self.create(namespace, flow_id, &inputs, new);
        }
        let plan = self.plan(namespace, flow_id)?;
        let inputs = peregrine_engine::inputs::with_defaults(&plan.flow, inputs);
        let new = NewExecution { inputs, ..new };
        self.create_typed(plan, new, Origin::default())
    }

    /// Like [`Self::execute`], with labels added to the flow's own.
    pub fn execute_with_labels(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
        labels: Vec<peregrine_model::flow::Label>,
    ) -> Result<String, RuntimeError> {
        let new = NewExecution {
            labels,
            ..NewExecution::default()
        };
        self.create(namespace, flow_id, inputs, new)
    }

    /// Creates and starts an execution described by `new` (a chosen id is kept, so files can
    /// be stored under it beforehand); `inputs` are typed and checked against the flow's.
    pub fn create(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
        new: NewExecution,
    ) -> Result<String, RuntimeError> {
        self.create_from(namespace, flow_id, inputs, new, Origin::default())
    }

    fn create_from(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
        mut new: NewExecution,
        origin: Origin,
    ) -> Result<String, RuntimeError> {
        let plan = self.plan(namespace, flow_id)?;
        new.inputs = peregrine_engine::inputs::typed_inputs(&plan.flow, inputs)
            .map_err(RuntimeError::Inputs)?;
        self.create_typed(plan, new, origin)
    }

    fn create_typed(
        &self,
        plan: Arc<FlowPlan>,
        mut new: NewExecution,
        origin: Origin,
    ) -> Result<String, RuntimeError> {
        if new.id.is_empty()
            && let Some(id) = self.partitions.new_id()
        {
            new.id = id?;
        }
        let key = uid(&plan.flow.namespace, &plan.flow.id);
        let mut shared = self
            .shared
            .lock()
            .map_err(|_| RuntimeError::UnknownFlow(key.clone()))?;
        // Checked under the lock partitions are dropped under: its commits would be refused,
        // another executor creates it from its row.
        let Some(generation) = self.partitions.generation(&new.id) else {
            return Err(RuntimeError::Foreign(new.id));
        };
        let flow_key = key;
        let id = shared
            .executor
            .create(plan.clone(), new, origin.parent.clone());
        let admission = shared.limits.admit(&flow_key, &plan, &id);
        if let Some(parent) = origin.parent {
            shared.parents.insert(id.clone(), parent);
        }
        if let Some(consumes) = origin.consumes {
            shared.consumes.insert(id.clone(), consumes);
        }
        shared.uncommitted.insert(id.clone(), Vec::new());
        if let Some(execution) = shared.executor.execution(&id) {
            shared.subscribers.notify_hooks(execution);
            let (watcher, _) = watch::channel(execution.clone());
            shared.watchers.insert(id.clone(), watcher);
        }
        drop(shared);
        let message = match admission {
            concurrency::Admission::Start => Message::Event {
                id: id.clone(),
                event: Event::Start,
                generation,
            },
            concurrency::Admission::Hold(state) => Message::Hold {
                id: id.clone(),
                state,
                generation,
            },
        };
        let _ = self.sender.send(message);
        Ok(id)
    }

    /// Resolves once the execution's first state is committed (at once for a committed one).
    pub fn durable(&self, execution_id: &str) -> impl std::future::Future<Output = ()> + use<> {
        let waiting = self.shared.lock().ok().and_then(|mut shared| {
            let waiters = shared.uncommitted.get_mut(execution_id)?;
            let (sender, receiver) = oneshot::channel();
            waiters.push(sender);
            Some(receiver)
        });
        async move {
            if let Some(receiver) = waiting {
                let _ = receiver.await;
            }
        }
    }

    /// Sends an event (kill, resume, ...) to an execution.
    pub fn send(&self, execution_id: &str, event: Event) {
        let message = Message::Event {
            id: execution_id.to_string(),
            event,
            generation: self.partitions.stamp(execution_id),
        };
        let _ = self.sender.send(message);
    }

    /// The execution as it is now (the last committed version of an ended one still listed).
    pub fn execution(&self, execution_id: &str) -> Option<Execution> {
        let shared = self.shared.lock().ok()?;
        match shared.executor.execution(execution_id) {
            Some(execution) => Some(execution.clone()),
            None => Some(shared.watchers.get(execution_id)?.borrow().clone()),
        }
    }

    /// Waits until the execution satisfies `done`, or `timeout`. `done` is checked against each
    /// new version inside the runtime, so waiting costs no copy of the execution until it holds.
    pub async fn wait_for(
        &self,
        execution_id: &str,
        timeout: Duration,
        done: impl Fn(&Execution) -> bool + Send + Sync + 'static,
    ) -> Result<Execution, RuntimeError> {
        let done: Condition = Arc::new(done);
        let waiting = self.shared.lock().ok().and_then(|mut shared| {
            // A step being committed is answered once it is durable, by the publication.
            let committed = !shared.committing.contains(execution_id)
                && !shared.uncommitted.contains_key(execution_id);
            let satisfied = match shared.executor.execution(execution_id) {
                Some(_) if !committed => None,
                Some(execution) => done(execution).then(|| execution.clone()),
                None => {
                    let watched = shared.watchers.get(execution_id)?.borrow();
                    done(&watched).then(|| watched.clone())
                }
            };
            if let Some(satisfied) = satisfied {
                return Some(Err(satisfied));
            }
            let (sender, receiver) = oneshot::channel();
            let waiter: Waiter = (done.clone(), sender);
            shared
                .waiters
                .entry(execution_id.to_string())
                .or_default()
                .push(waiter);
            Some(Ok(receiver))
        });
        let receiver = match waiting {
            Some(Ok(receiver)) => receiver,
            Some(Err(satisfied)) => return Ok(satisfied),
            None => {
                // No longer listed: the store has its last version.
                let stored = peregrine_ports::repository::ExecutionRepository::get(
                    self.store.as_ref(),
                    execution_id,
                )
                .await?;
                return match stored {
                    Some(execution) if done(&execution) => Ok(execution),
                    Some(execution) => Err(RuntimeError::Timeout {
                        id: execution_id.to_string(),
                        timeout,
                        state: execution.state.current,
                    }),
                    None => Err(RuntimeError::UnknownExecution(execution_id.to_string())),
                };
            }
        };
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(execution)) => Ok(execution),
            _ => {
                let state = self
                    .execution(execution_id)
                    .map_or(State::Created, |execution| execution.state.current);
                Err(RuntimeError::Timeout {
                    id: execution_id.to_string(),
                    timeout,
                    state,
                })
            }
        }
    }

    /// Every execution this runtime lists (all of them on in-memory state), in no order.
    pub fn executions(&self) -> Vec<Execution> {
        self.shared
            .lock()
            .map(|shared| {
                shared
                    .watchers
                    .iter()
                    .map(|(id, watcher)| match shared.executor.execution(id) {
                        Some(execution) => execution.clone(),
                        None => watcher.borrow().clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The latest version of an execution this runtime still lists.
    pub fn listed(&self, execution_id: &str) -> Option<Execution> {
        let shared = self.shared.lock().ok()?;
        if !shared.watchers.contains_key(execution_id) {
            return None;
        }
        match shared.executor.execution(execution_id) {
            Some(execution) => Some(execution.clone()),
            None => Some(shared.watchers.get(execution_id)?.borrow().clone()),
        }
    }

    /// Stops listing an execution (a deleted one). Returns false when it was not listed.
    pub fn forget(&self, execution_id: &str) -> bool {
        self.shared
            .lock()
            .is_ok_and(|mut shared| shared.forget(execution_id))
    }

    /// Makes a flow unavailable to new executions and subflows. Returns false when not loaded.
    pub fn unload(&self, namespace: &str, flow_id: &str) -> bool {
        self.shared
            .lock()
            .is_ok_and(|mut shared| shared.plans.remove(&uid(namespace, flow_id)).is_some())
    }
}
