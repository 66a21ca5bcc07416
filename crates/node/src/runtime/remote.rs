//! Workers in other processes: the runtime hands its jobs out through the store's outbox (the
//! `job:` rows its commits write are what workers claim) and reads back the `result:` rows they
//! write, and the `command:` rows of other processes: tasks acting on executions
//! (`execution.Resume`), a webserver or a scheduler of their own (start, kill, resume, restart,
//! replay, labels). A row is applied by the commit that deletes it, so it is applied once even if
//! this process stops in between (the next one reads it again); the commands whose effect is not
//! part of that commit (replay, labels) are idempotent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use peregrine_engine::{Event, NewExecution, TaskUpdate};
use peregrine_model::execution::ExecutionTrigger;
use peregrine_model::flow::Label;
use peregrine_plugin_api::ResumeRequest;
use peregrine_ports::queue::{COMMANDS, JOBS, OutboxQueue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LocalRuntime, Message, Origin};

/// A command of another process, as a `command:` row carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "command")]
pub(crate) enum RowCommand {
    /// Resume the (paused) execution of the row.
    Resume {
        namespace: Option<String>,
        flow_id: Option<String>,
        inputs: Option<Map<String, Value>>,
    },
    /// The execution of the row was purged from the store: drop what is kept of it.
    Forget,
    /// Create and start the execution of the row (its id) on a revision of a flow; the inputs
    /// are already typed. Nothing happens when the execution exists.
    Start {
        namespace: String,
        flow_id: String,
        revision: u32,
        inputs: Map<String, Value>,
        labels: Vec<Label>,
        trigger: Option<ExecutionTrigger>,
    },
    /// Apply an event (kill, a resume with typed values, restart) to the execution of the row.
    Apply { event: Event },
    /// Replay the execution of the row as the new execution `new_id`.
    Replay {
        new_id: String,
        task_run_id: Option<String>,
        revision: Option<u32>,
    },
    /// Give the ended execution of the row these labels.
    Labels { labels: Vec<Label> },
}

/// At most this many results are read at once.
const READ_BATCH: usize = 2_048;
/// The longest wait for results when no notification comes.
const IDLE_WAIT: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl LocalRuntime {
    /// Reads the rows of `prefix` (workers' results, commands) into the event loop, for as long
    /// as the runtime lives.
    pub(super) fn read_rows(&self, queue: Arc<dyn OutboxQueue>, prefix: &'static str) {
        let runtime = self.clone();
        tokio::spawn(async move {
            // Rows sent to the event loop and not yet deleted by its commit, with the
            // generation of their partition then: one given up meanwhile drops the message,
            // so its rows are sent again once it is taken back.
            let mut in_flight: HashMap<(String, String), u64> = HashMap::new();
            let mut pause = Duration::from_millis(10);
            loop {
                let partitions = runtime.partitions.reading();
                let rows = match queue.rows(prefix, &partitions, READ_BATCH).await {
                    Ok(rows) => rows,
                    Err(error) => {
                        eprintln!("executor: cannot read {prefix} rows, trying again: {error}");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(MAX_BACKOFF);
                        continue;
                    }
                };
                pause = Duration::from_millis(10);
                let present: HashSet<(String, String)> = rows
                    .iter()
                    .map(|row| (row.execution_id.clone(), row.key.clone()))
                    .collect();
                in_flight.retain(|row, generation| {
                    present.contains(row)
                        && runtime.partitions.generation(&row.0) == Some(*generation)
                });
                let mut sent = false;
                for row in rows {
                    let id = (row.execution_id, row.key);
                    let generation = runtime.partitions.stamp(&id.0);
                    if in_flight.get(&id) == Some(&generation) {
                        continue;
                    }
                    let message = if prefix == COMMANDS {
                        runtime
                            .command_message(&id.0, &id.1, row.payload, generation)
                            .await
                    } else {
                        let event = serde_json::from_value::<TaskUpdate>(row.payload)
                            .ok()
                            .map(Event::TaskUpdate);
                        Some(Message::FromRow {
                            id: id.0.clone(),
                            key: id.1.clone(),
                            event,
                            generation,
                        })
                    };
                    if let Some(message) = message
                        && runtime.sender.send(message).is_err()
                    {
                        return;
                    }
                    in_flight.insert(id, generation);
                    sent = true;
                }
                if !sent {
                    queue.wait(prefix, IDLE_WAIT).await;
                }
            }
        });
    }

    /// What a command row asks of the event loop: a message that applies it and deletes the
    /// row, or none when the row is deleted otherwise (by the first commit of the execution it
    /// creates, or once the replay it asks for is done). A refused or unreadable command is
    /// reported and its row deleted.
    async fn command_message(
        &self,
        id: &str,
        key: &str,
        payload: Value,
        generation: u64,
    ) -> Option<Message> {
        let row = |event: Option<Event>| {
            Some(Message::FromRow {
                id: id.to_string(),
                key: key.to_string(),
                event,
                generation,
            })
        };
        let command: RowCommand = match serde_json::from_value(payload) {
            Ok(command) => command,
            Err(error) => {
                eprintln!("executor: unreadable command for {id}: {error}");
                return row(None);
            }
        };
        match command {
            RowCommand::Start {
                namespace,
                flow_id,
                revision,
                inputs,
                labels,
                trigger,
            } => {
                let new = NewExecution {
                    id: id.to_string(),
                    inputs,
                    labels,
                    trigger,
                    ..NewExecution::default()
                };
                match self
                    .start_row(&namespace, &flow_id, revision, new, key)
                    .await
                {
                    Ok(()) => None,
                    Err(error) => {
                        eprintln!(
                            "executor: execution {id} of {namespace}.{flow_id} is not started: {error}"
                        );
                        row(None)
                    }
                }
            }
            RowCommand::Apply { event } => row(Some(event)),
            RowCommand::Labels { labels } => {
                let labels = Message::Labels {
                    id: id.to_string(),
                    labels,
                    generation,
                };
                if self.sender.send(labels).is_err() {
                    return None;
                }
                row(None)
            }
            RowCommand::Replay {
                new_id,
                task_run_id,
                revision,
            } => {
                let runtime = self.clone();
                let (id, key) = (id.to_string(), key.to_string());
                tokio::spawn(async move {
                    runtime.replay_row(&id, new_id, task_run_id, revision).await;
                    let _ = runtime.sender.send(Message::FromRow {
                        id,
                        key,
                        event: None,
                        generation,
                    });
                });
                None
            }
            RowCommand::Resume {
                namespace,
                flow_id,
                inputs,
            } => {
                let request = ResumeRequest {
                    execution_id: id.to_string(),
                    namespace,
                    flow_id,
                    inputs,
                };
                match super::control::resume_event(&self.shared, request) {
                    Ok(event) => row(Some(event)),
                    Err(error) => {
                        eprintln!("executor: a worker's resume of {id} is refused: {error}");
                        row(None)
                    }
                }
            }
            RowCommand::Forget => {
                if let Ok(mut shared) = self.shared.lock() {
                    shared.forget(id);
                }
                row(None)
            }
        }
    }

    /// Creates the execution a `Start` row asks for, unless it exists; its first commit deletes
    /// the row.
    async fn start_row(
        &self,
        namespace: &str,
        flow_id: &str,
        revision: u32,
        new: NewExecution,
        key: &str,
    ) -> Result<(), String> {
        if self.exists(&new.id).await? {
            return Err("it exists already".into());
        }
        let plan = self.revision_plan(namespace, flow_id, revision).await?;
        let origin = Origin {
            parent: None,
            consumes: Some((new.id.clone(), key.to_string())),
        };
        self.create_typed(plan, new, origin)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    /// True when the execution is held here or stored.
    async fn exists(&self, id: &str) -> Result<bool, String> {
        let held = self
            .shared
            .lock()
            .is_ok_and(|shared| shared.watchers.contains_key(id) || shared.executor.holds(id));
        if held {
            return Ok(true);
        }
        let stored = peregrine_ports::repository::ExecutionRepository::get(self.store.as_ref(), id)
            .await
            .map_err(|error| error.to_string())?;
        Ok(stored.is_some())
    }

    /// Carries out a `Replay` row, unless its new execution exists (the row was read again).
    async fn replay_row(
        &self,
        id: &str,
        new_id: String,
        task_run_id: Option<String>,
        revision: Option<u32>,
    ) {
        match self.exists(&new_id).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(error) => {
                eprintln!("executor: cannot replay execution {id}: {error}");
                return;
            }
        }
        if let Err(error) = self
            .replay_as(id, task_run_id.as_deref(), revision, new_id)
            .await
        {
            eprintln!("executor: cannot replay execution {id}: {error}");
        }
    }

    /// Tells the workers running tasks of an execution to stop them.
    pub(super) fn kill_remote(&self, queue: Arc<dyn OutboxQueue>, id: &str) {
        let id = id.to_string();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(10);
            while let Err(error) = queue.kill(&id, JOBS).await {
                eprintln!("executor: cannot tell workers to kill {id}, trying again: {error}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        });
    }
}
