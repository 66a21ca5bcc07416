//! Carrying out the effects of a committed step: worker jobs, timers, subflows, replays, kills,
//! and subflow ends reported to their parents.

use std::time::Duration;

use peregrine_engine::effects::{EngineLog, LogLevel as EngineLevel};
use peregrine_engine::{Effect, Event, NewExecution, SubflowEnded, SubflowStart, TaskUpdate};
use peregrine_model::execution::{Execution, ExecutionTrigger};
use peregrine_model::state::State;
use peregrine_plugin_api::{LogEntry, LogLevel};
use peregrine_ports::store::ParentLink;
use serde_json::{Map, Value};

use super::{LocalRuntime, Message, Origin, outbox};

fn until(at: jiff::Timestamp) -> Duration {
    let now = jiff::Timestamp::now();
    if at <= now {
        Duration::ZERO
    } else {
        at.duration_since(now).unsigned_abs()
    }
}

impl LocalRuntime {
    pub(super) fn carry_out(&self, id: &str, effect: Effect) {
        match effect {
            // Workers in other processes claim the job row this step committed.
            Effect::RunTask(_) if self.remote.is_some() => {}
            Effect::RunTask(job) => self.run_job(id, *job),
            Effect::KillTasks => {
                match &self.remote {
                    Some(queue) => self.kill_remote(queue.clone(), id),
                    None => self.worker.kill(id),
                }
                let children: Vec<String> = self
                    .shared
                    .lock()
                    .map(|shared| {
                        shared
                            .parents
                            .iter()
                            .filter(|(_, parent)| parent.execution_id == id)
                            .map(|(child, _)| child.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for child in children {
                    self.send(&child, Event::Kill);
                }
            }
            Effect::SetTimer { at, kind } => self.set_timer(id, at, kind),
            Effect::StartSubflow(start) => self.start_subflow(id, *start),
            Effect::ReplayExecution { at } => self.replay(id, at),
            Effect::ReleaseDirectory {
                key,
                namespace,
                flow_id,
            } => {
                let worker = self.worker.clone();
                // Workers of their own handed the folder over through internal storage.
                let handed_over = self
                    .remote
                    .as_ref()
                    .map(|_| peregrine_ports::storage::StorageContext::new(namespace, flow_id, id));
                tokio::spawn(async move {
                    worker.release_directory(&key).await;
                    if let Some(scope) = handed_over
                        && let Err(error) = worker.forget_handed_over(&scope, &key).await
                    {
                        eprintln!("executor: cannot delete working directory {key}: {error}");
                    }
                });
            }
            // Committed with the step.
            Effect::Log(_) => {}
            Effect::Ended(state) => self.report_to_parent(id, state),
        }
    }

    pub(super) fn run_job(&self, id: &str, job: peregrine_engine::WorkerJob) {
        let (worker, sender) = (self.worker.clone(), self.sender.clone());
        let execution_id = id.to_string();
        let generation = self.partitions.stamp(id);
        tokio::spawn(async move {
            worker
                .execute(job, |update| {
                    let message = Message::Event {
                        id: execution_id.clone(),
                        event: Event::TaskUpdate(update),
                        generation,
                    };
                    drop(sender.send(message))
                })
                .await;
        });
    }

    pub(super) fn set_timer(
        &self,
        id: &str,
        at: jiff::Timestamp,
        kind: peregrine_engine::TimerKind,
    ) {
        let (sender, execution_id) = (self.sender.clone(), id.to_string());
        let wait = until(at);
        let (partitions, generation) = (self.partitions.clone(), self.partitions.stamp(id));
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            // Given up (and maybe taken back) meanwhile: the timer's row set it again.
            if partitions.generation(&execution_id) != Some(generation) {
                return;
            }
            let message = Message::Event {
                id: execution_id,
                event: Event::Timer(kind),
                generation,
            };
            let _ = sender.send(message);
        });
    }

    /// Starts a new execution of the same flow and inputs at `at` (a flow retry that creates a
    /// new execution); its first commit consumes the replay row.
    pub(super) fn replay(&self, id: &str, at: jiff::Timestamp) {
        let Some(old) = self.execution(id) else {
            return;
        };
        let runtime = self.clone();
        let generation = self.partitions.stamp(id);
        tokio::spawn(async move {
            tokio::time::sleep(until(at)).await;
            // Given up (and maybe taken back) meanwhile: the replay's row does it again.
            if runtime.partitions.generation(&old.id) == Some(generation) {
                runtime.replay_now(old);
            }
        });
    }

    pub(super) fn replay_now(&self, old: Execution) {
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
            // In the old execution's partition: its first commit consumes the old one's row.
            id: self.partitions.new_id_beside(&old.id).unwrap_or_default(),
            ..NewExecution::default()
        };
        let origin = Origin {
            parent: None,
            consumes: Some((old.id.clone(), outbox::REPLAY.to_string())),
        };
        if let Ok(plan) = self.plan(&old.namespace, &old.flow_id) {
            let _ = self.create_typed(plan, new, origin);
        }
    }

    pub(super) fn start_subflow(&self, parent_id: &str, start: SubflowStart) {
        // A flow saved through another process moments ago: read from the repository first.
        if self.flows.is_some() && self.plan(&start.namespace, &start.flow_id).is_err() {
            let (runtime, parent_id) = (self.clone(), parent_id.to_string());
            tokio::spawn(async move {
                if let Err(reason) = runtime.load_latest(&start.namespace, &start.flow_id).await {
                    eprintln!("executor: {reason}");
                }
                runtime.create_subflow(&parent_id, start);
            });
            return;
        }
        self.create_subflow(parent_id, start);
    }

    fn create_subflow(&self, parent_id: &str, start: SubflowStart) {
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
        let origin = Origin {
            parent: start.wait.then(|| ParentLink {
                execution_id: parent_id.to_string(),
                task_run_id: start.task_run_id.clone(),
            }),
            consumes: Some((
                parent_id.to_string(),
                outbox::subflow_key(&start.execution_id),
            )),
        };
        let created =
            self.create_from(&start.namespace, &start.flow_id, &start.inputs, new, origin);
        if let Err(error) = created {
            let log = EngineLog {
                task_run_id: Some(start.task_run_id.clone()),
                task_id: None,
                level: EngineLevel::Error,
                message: error.to_string(),
            };
            let execution = self.execution(parent_id);
            use peregrine_plugin_api::LogSink;
            self.pending_logs
                .emit(engine_log(parent_id, execution.as_ref(), log));
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
        let Some(parent) = shared.parents.remove(child_id) else {
            return;
        };
        let child = shared
            .watchers
            .get(child_id)
            .map(|watcher| watcher.borrow().clone());
        drop(shared);
        match child {
            Some(child) => self.send_ended(&child, parent, state),
            None => {
                let runtime = self.clone();
                let child_id = child_id.to_string();
                tokio::spawn(async move {
                    let store = runtime.store();
                    let read = peregrine_ports::repository::ExecutionRepository::get(
                        store.as_ref(),
                        &child_id,
                    );
                    if let Ok(Some(child)) = read.await {
                        runtime.send_ended(&child, parent, state);
                    }
                });
            }
        }
    }

    /// Tells the parent a child has ended, with its outputs.
    pub(super) fn send_ended(&self, child: &Execution, parent: ParentLink, state: State) {
        let ended = SubflowEnded {
            task_run_id: parent.task_run_id,
            execution_id: child.id.clone(),
            state,
            task_outputs: task_outputs_tree(child),
            flow_outputs: child.outputs.clone().unwrap_or_default(),
        };
        self.send(&parent.execution_id, Event::SubflowEnded(ended));
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

pub(super) fn engine_log(
    execution_id: &str,
    execution: Option<&Execution>,
    log: EngineLog,
) -> LogEntry {
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
