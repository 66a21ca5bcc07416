//! Every role in this process on in-memory state: an executor, a worker pool and the wiring
//! between them (channels, timers, subflows). It runs `peregrine flow test` and the
//! compatibility runner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use peregrine_engine::effects::{EngineLog, LogLevel as EngineLevel};
use peregrine_engine::variables::Globals;
use peregrine_engine::{
    Effect, Event, FlowPlan, NewExecution, SubflowEnded, SubflowStart, TaskUpdate,
};
use peregrine_executor::Executor;
use peregrine_model::execution::{Execution, ExecutionTrigger};
use peregrine_model::state::State;
use peregrine_model::{Flow, Registry};
use peregrine_plugin_api::{LogEntry, LogLevel, LogSink};
use peregrine_worker::{Worker, WorkerOptions};
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc, watch};

use crate::expressions::RuntimeExpressions;

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
}

/// Keeps log lines in memory, in order.
#[derive(Default)]
pub struct MemoryLogs(Mutex<Vec<LogEntry>>);

impl MemoryLogs {
    pub fn of_execution(&self, execution_id: &str) -> Vec<LogEntry> {
        self.0
            .lock()
            .map(|lines| {
                lines
                    .iter()
                    .filter(|line| line.execution_id == execution_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl LogSink for MemoryLogs {
    fn emit(&self, entry: LogEntry) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(entry);
        }
    }
}

struct Shared {
    executor: Executor,
    plans: HashMap<String, Arc<FlowPlan>>,
    watchers: HashMap<String, watch::Sender<Execution>>,
    /// Child execution id to (parent execution id, parent task run id), for subflows that wait.
    parents: HashMap<String, (String, String)>,
    /// Followers and hooks of the API server (see `LocalRuntime::follow`).
    subscribers: Subscribers,
}

/// What the runtime is built with: task services and the `envs`/`globals` expression variables.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    pub services: peregrine_plugin_api::TaskServices,
    pub globals: Globals,
}

impl RuntimeOptions {
    /// In-memory storage and key-value store; secrets from `SECRET_*` variables and `envs` from
    /// `KESTRA_*` variables (prefix removed, lower case), as Kestra OSS does.
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
        }
    }
}

/// A cheap-to-clone handle on the in-process runtime.
#[derive(Clone)]
pub struct LocalRuntime {
    registry: Arc<Registry>,
    shared: Arc<Mutex<Shared>>,
    sender: mpsc::UnboundedSender<(String, Event)>,
    worker: Worker,
    pub logs: Arc<MemoryLogs>,
    flow_triggers: Arc<crate::flow_triggers::FlowTriggers>,
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
    /// Starts the runtime's event loop on the current tokio runtime.
    pub fn start(registry: Arc<Registry>) -> Self {
        Self::start_with(registry, RuntimeOptions::from_env())
    }

    /// Starts the runtime with the given services and configuration values.
    pub fn start_with(registry: Arc<Registry>, options: RuntimeOptions) -> Self {
        let RuntimeOptions { services, globals } = options;
        let expressions = Arc::new(RuntimeExpressions::new(services.clone()));
        let logs = Arc::new(MemoryLogs::default());
        // Tasks read execution logs (log.Fetch) from the lines this runtime keeps.
        let services = peregrine_plugin_api::TaskServices {
            logs: Arc::new(crate::server::RuntimeLogs::new(logs.clone())),
            ..services
        };
        let flow_triggers = Arc::new(crate::flow_triggers::FlowTriggers::new(
            expressions.clone(),
            globals.clone(),
            logs.clone(),
        ));
        let worker = Worker::new(
            WorkerOptions {
                id: "local".into(),
                slots: 16,
            },
            crate::catalogue::runners().shared(),
            expressions.clone(),
            logs.clone(),
            services,
        );
        let shared = Shared {
            executor: Executor::new(expressions, globals),
            plans: HashMap::new(),
            watchers: HashMap::new(),
            parents: HashMap::new(),
            subscribers: Subscribers::default(),
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        let runtime = Self {
            registry,
            shared: Arc::new(Mutex::new(shared)),
            sender,
            worker,
            logs,
            flow_triggers,
        };
        tokio::spawn(runtime.clone().event_loop(receiver));
        runtime
    }

    /// Makes a flow available to executions and subflows.
    pub fn load(&self, flow: Flow) -> Result<(), RuntimeError> {
        let key = uid(&flow.namespace, &flow.id);
        let registry = self.registry.clone();
        let plan = FlowPlan::new(Arc::new(flow), &|type_name| {
            crate::catalogue::role_of(&registry, type_name)
        })?;
        if let Ok(mut shared) = self.shared.lock() {
            shared.plans.insert(key, Arc::new(plan));
        }
        Ok(())
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
        let key = uid(namespace, flow_id);
        let plan = self
            .shared
            .lock()
            .ok()
            .and_then(|shared| shared.plans.get(&key).cloned())
            .ok_or(RuntimeError::UnknownFlow(key))?;
        let inputs = peregrine_engine::inputs::with_defaults(&plan.flow, inputs);
        let new = NewExecution { inputs, ..new };
        self.create_typed(namespace, flow_id, new)
    }

    /// Creates and starts an execution described by `new` (a chosen id is kept, so files can
    /// be stored under it beforehand); `inputs` are typed and checked against the flow's.
    pub fn create(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
        mut new: NewExecution,
    ) -> Result<String, RuntimeError> {
        let key = uid(namespace, flow_id);
        let plan = self
            .shared
            .lock()
            .ok()
            .and_then(|shared| shared.plans.get(&key).cloned())
            .ok_or(RuntimeError::UnknownFlow(key))?;
        new.inputs = peregrine_engine::inputs::typed_inputs(&plan.flow, inputs)
            .map_err(RuntimeError::Inputs)?;
        self.create_typed(namespace, flow_id, new)
    }

    fn create_typed(
        &self,
        namespace: &str,
        flow_id: &str,
        new: NewExecution,
    ) -> Result<String, RuntimeError> {
        let key = uid(namespace, flow_id);
        let mut shared = self
            .shared
            .lock()
            .map_err(|_| RuntimeError::UnknownFlow(key.clone()))?;
        let plan = shared
            .plans
            .get(&key)
            .cloned()
            .ok_or(RuntimeError::UnknownFlow(key))?;
        let id = shared.executor.create(plan, new);
        if let Some(execution) = shared.executor.execution(&id) {
            let (watcher, _) = watch::channel(execution.clone());
            shared.watchers.insert(id.clone(), watcher);
        }
        shared.notify_subscribers(&id);
        drop(shared);
        let _ = self.sender.send((id.clone(), Event::Start));
        Ok(id)
    }

    /// Sends an event (kill, resume, ...) to an execution.
    pub fn send(&self, execution_id: &str, event: Event) {
        let _ = self.sender.send((execution_id.to_string(), event));
    }

    /// The execution as it is now.
    pub fn execution(&self, execution_id: &str) -> Option<Execution> {
        self.shared
            .lock()
            .ok()?
            .executor
            .execution(execution_id)
            .cloned()
    }

    /// Waits until the execution satisfies `done`, or `timeout`.
    pub async fn wait_for(
        &self,
        execution_id: &str,
        timeout: Duration,
        done: impl Fn(&Execution) -> bool,
    ) -> Result<Execution, RuntimeError> {
        let mut receiver = self
            .shared
            .lock()
            .ok()
            .and_then(|shared| {
                shared
                    .watchers
                    .get(execution_id)
                    .map(watch::Sender::subscribe)
            })
            .ok_or_else(|| RuntimeError::UnknownExecution(execution_id.to_string()))?;
        let wait = receiver.wait_for(|execution| done(execution));
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(execution)) => Ok(execution.clone()),
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

    /// Every execution started by this runtime, in no particular order.
    pub fn executions(&self) -> Vec<Execution> {
        self.shared
            .lock()
            .map(|shared| {
                shared
                    .watchers
                    .values()
                    .map(|watcher| watcher.borrow().clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn event_loop(self, mut receiver: mpsc::UnboundedReceiver<(String, Event)>) {
        while let Some((id, event)) = receiver.recv().await {
            let (effects, fired) = {
                let Ok(mut shared) = self.shared.lock() else {
                    return;
                };
                let before = shared.executor.execution(&id).map(|e| e.state.current);
                let Ok(effects) = shared.executor.handle(&id, event) else {
                    continue;
                };
                if let (Some(execution), Some(watcher)) = (
                    shared.executor.execution(&id).cloned(),
                    shared.watchers.get(&id),
                ) {
                    watcher.send_replace(execution);
                }
                shared.notify_subscribers(&id);
                // Flow triggers listen to every change of an execution's state.
                let fired = match shared.executor.execution(&id) {
                    Some(execution) if Some(execution.state.current) != before => self
                        .flow_triggers
                        .evaluate(execution, &shared.plans, jiff::Timestamp::now()),
                    _ => Vec::new(),
                };
                (effects, fired)
            };
            for effect in effects {
                self.carry_out(&id, effect);
            }
            for fired in fired {
                let _ = self.create_typed(&fired.namespace, &fired.flow_id, fired.new);
            }
        }
    }

    fn carry_out(&self, id: &str, effect: Effect) {
        match effect {
            Effect::RunTask(job) => {
                let (worker, sender) = (self.worker.clone(), self.sender.clone());
                let execution_id = id.to_string();
                tokio::spawn(async move {
                    worker
                        .execute(*job, |update| {
                            drop(sender.send((execution_id.clone(), Event::TaskUpdate(update))))
                        })
                        .await;
                });
            }
            Effect::KillTasks => {
                self.worker.kill(id);
                let children: Vec<String> = self
                    .shared
                    .lock()
                    .map(|shared| {
                        shared
                            .parents
                            .iter()
                            .filter(|(_, (parent, _))| parent == id)
                            .map(|(child, _)| child.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for child in children {
                    self.send(&child, Event::Kill);
                }
            }
            Effect::SetTimer { at, kind } => {
                let (sender, execution_id) = (self.sender.clone(), id.to_string());
                let wait = at.duration_since(jiff::Timestamp::now()).unsigned_abs();
                let wait = if at <= jiff::Timestamp::now() {
                    Duration::ZERO
                } else {
                    wait
                };
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let _ = sender.send((execution_id, Event::Timer(kind)));
                });
            }
            Effect::StartSubflow(start) => self.start_subflow(id, *start),
            Effect::ReplayExecution { at } => {
                let Some(old) = self.execution(id) else {
                    return;
                };
                let runtime = self.clone();
                let wait = if at <= jiff::Timestamp::now() {
                    Duration::ZERO
                } else {
                    at.duration_since(jiff::Timestamp::now()).unsigned_abs()
                };
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    let new = NewExecution {
                        inputs: old.inputs.clone().unwrap_or_default(),
                        labels: old
                            .labels
                            .iter()
                            .filter(|label| !label.key.starts_with("system."))
                            .cloned()
                            .collect(),
                        replay_of: Some(peregrine_engine::ReplayOf {
                            attempt_number: old.metadata.attempt_number + 1,
                            original_id: old.original_id.clone().unwrap_or_else(|| old.id.clone()),
                            original_created_date: old.metadata.original_created_date,
                        }),
                        ..NewExecution::default()
                    };
                    let _ = runtime.create_typed(&old.namespace, &old.flow_id, new);
                });
            }
            Effect::ReleaseDirectory { key } => {
                let worker = self.worker.clone();
                tokio::spawn(async move { worker.release_directory(&key).await });
            }
            Effect::Log(log) => {
                let execution = self.execution(id);
                self.logs.emit(engine_log(id, execution.as_ref(), log));
            }
            Effect::Ended(state) => self.report_to_parent(id, state),
        }
    }

    fn start_subflow(&self, parent_id: &str, start: SubflowStart) {
        let new = NewExecution {
            id: start.execution_id.clone(),
            inputs: Map::new(),
            labels: start.labels.clone(),
            trigger: Some(ExecutionTrigger {
                id: "subflow".into(),
                type_name: "io.kestra.plugin.core.flow.Subflow".into(),
                variables: Some(start.parent.clone()),
            }),
            parent_id: None,
            replay_of: None,
        };
        if start.wait
            && let Ok(mut shared) = self.shared.lock()
        {
            shared.parents.insert(
                start.execution_id.clone(),
                (parent_id.to_string(), start.task_run_id.clone()),
            );
        }
        if let Err(error) = self.create(&start.namespace, &start.flow_id, &start.inputs, new) {
            self.logs.emit(engine_log(
                parent_id,
                self.execution(parent_id).as_ref(),
                EngineLog {
                    task_run_id: Some(start.task_run_id.clone()),
                    task_id: None,
                    level: EngineLevel::Error,
                    message: error.to_string(),
                },
            ));
            let update = TaskUpdate {
                task_run_id: start.task_run_id,
                attempt: 1,
                state: State::Failed,
                outputs: None,
                worker_id: None,
            };
            self.send(parent_id, Event::TaskUpdate(update));
        }
    }

    fn report_to_parent(&self, child_id: &str, state: State) {
        let Ok(mut shared) = self.shared.lock() else {
            return;
        };
        let Some((parent_id, task_run_id)) = shared.parents.remove(child_id) else {
            return;
        };
        let (task_outputs, flow_outputs) = shared
            .watchers
            .get(child_id)
            .map(|watcher| {
                let execution = watcher.borrow();
                (
                    task_outputs_tree(&execution),
                    execution.outputs.clone().unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        drop(shared);
        let ended = SubflowEnded {
            task_run_id,
            execution_id: child_id.to_string(),
            state,
            task_outputs,
            flow_outputs,
        };
        self.send(&parent_id, Event::SubflowEnded(ended));
    }
}

/// The `outputs` variable of a finished execution.
fn task_outputs_tree(execution: &Execution) -> Map<String, Value> {
    let state = peregrine_engine::ExecutionState::new(
        execution.clone(),
        Default::default(),
        Default::default(),
    );
    state.outputs
}

fn engine_log(execution_id: &str, execution: Option<&Execution>, log: EngineLog) -> LogEntry {
    LogEntry {
        namespace: execution
            .map(|execution| execution.namespace.clone())
            .unwrap_or_default(),
        flow_id: execution
            .map(|execution| execution.flow_id.clone())
            .unwrap_or_default(),
        execution_id: execution_id.to_string(),
        task_id: log.task_id,
        task_run_id: log.task_run_id,
        attempt_number: None,
        timestamp: jiff::Timestamp::now(),
        level: match log.level {
            EngineLevel::Info => LogLevel::Info,
            EngineLevel::Warn => LogLevel::Warn,
            EngineLevel::Error => LogLevel::Error,
        },
        message: log.message,
    }
}

// Subscriptions, for the API server: follow an execution version by version, hooks on every
// change (metrics), labels at start, and forgetting deleted executions.

/// Called with every new version of every execution, under the runtime's lock: it must be quick
/// and must not call back into the runtime.
pub type ExecutionHook = Arc<dyn Fn(&Execution) + Send + Sync>;

/// How many versions a follower may fall behind before it skips to newer ones.
const FOLLOW_BUFFER: usize = 256;

#[derive(Default)]
struct Subscribers {
    followers: HashMap<String, broadcast::Sender<Execution>>,
    hooks: Vec<ExecutionHook>,
}

impl Shared {
    /// Tells hooks and followers of the execution's new version (dropping the followers' sender
    /// once it has ended, which closes their receivers).
    fn notify_subscribers(&mut self, execution_id: &str) {
        let Some(execution) = self.executor.execution(execution_id) else {
            return;
        };
        for hook in &self.subscribers.hooks {
            hook(execution);
        }
        if let Some(sender) = self.subscribers.followers.get(execution_id) {
            if sender.receiver_count() > 0 {
                let _ = sender.send(execution.clone());
            }
            if execution.state.is_terminated() || sender.receiver_count() == 0 {
                self.subscribers.followers.remove(execution_id);
            }
        }
    }
}

impl LocalRuntime {
    /// The execution as it is now, and a receiver of every later version, closed after the
    /// terminal one (closed at once when it has already ended). A receiver more than 256
    /// versions behind skips to newer ones (`RecvError::Lagged`).
    pub fn follow(
        &self,
        execution_id: &str,
    ) -> Option<(Execution, broadcast::Receiver<Execution>)> {
        let mut shared = self.shared.lock().ok()?;
        let current = shared.watchers.get(execution_id)?.borrow().clone();
        let receiver = if current.state.is_terminated() {
            broadcast::channel(1).1
        } else {
            shared
                .subscribers
                .followers
                .entry(execution_id.to_string())
                .or_insert_with(|| broadcast::channel(FOLLOW_BUFFER).0)
                .subscribe()
        };
        Some((current, receiver))
    }

    /// Calls `hook` with every new version of every execution from now on.
    pub fn on_change(&self, hook: ExecutionHook) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.subscribers.hooks.push(hook);
        }
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

    /// The latest version of an execution this runtime still lists (not forgotten).
    pub fn listed(&self, execution_id: &str) -> Option<Execution> {
        let shared = self.shared.lock().ok()?;
        let execution = shared.watchers.get(execution_id)?.borrow().clone();
        Some(execution)
    }

    /// Stops listing an execution (a deleted one). Returns false when it was not listed.
    pub fn forget(&self, execution_id: &str) -> bool {
        let Ok(mut shared) = self.shared.lock() else {
            return false;
        };
        shared.subscribers.followers.remove(execution_id);
        shared.watchers.remove(execution_id).is_some()
    }

    /// Makes a flow unavailable to new executions and subflows. Returns false when not loaded.
    pub fn unload(&self, namespace: &str, flow_id: &str) -> bool {
        self.shared
            .lock()
            .is_ok_and(|mut shared| shared.plans.remove(&uid(namespace, flow_id)).is_some())
    }
}

impl MemoryLogs {
    /// Every line `keep` accepts, in order.
    pub fn matching(&self, keep: impl Fn(&LogEntry) -> bool) -> Vec<LogEntry> {
        self.0
            .lock()
            .map(|lines| lines.iter().filter(|line| keep(line)).cloned().collect())
            .unwrap_or_default()
    }

    /// Removes the lines of an execution; returns how many there were.
    pub fn remove_execution(&self, execution_id: &str) -> usize {
        let Ok(mut lines) = self.0.lock() else {
            return 0;
        };
        let before = lines.len();
        lines.retain(|line| line.execution_id != execution_id);
        before - lines.len()
    }
}
