//! Workers in other processes: the runtime hands its jobs out through the store's outbox (the
//! `job:` rows its commits write are what workers claim) and reads back the `result:` rows they
//! write, and the `command:` rows of tasks acting on executions (`execution.Resume`). A row is
//! applied by the commit that deletes it, so it is applied once even if this process stops in
//! between (the next one reads it again).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use peregrine_engine::{Event, TaskUpdate};
use peregrine_plugin_api::ResumeRequest;
use peregrine_ports::queue::{COMMANDS, JOBS, OutboxQueue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LocalRuntime, Message};

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
            // Rows sent to the event loop and not yet deleted by its commit.
            let mut in_flight: HashSet<(String, String)> = HashSet::new();
            let mut pause = Duration::from_millis(10);
            loop {
                let rows = match queue.rows(prefix, READ_BATCH).await {
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
                in_flight.retain(|row| present.contains(row));
                let mut sent = false;
                for row in rows {
                    let id = (row.execution_id, row.key);
                    if in_flight.contains(&id) {
                        continue;
                    }
                    let event = if prefix == COMMANDS {
                        runtime.command_event(&id.0, row.payload)
                    } else {
                        serde_json::from_value::<TaskUpdate>(row.payload)
                            .ok()
                            .map(Event::TaskUpdate)
                    };
                    let message = Message::FromRow {
                        id: id.0.clone(),
                        key: id.1.clone(),
                        event,
                    };
                    if runtime.sender.send(message).is_err() {
                        return;
                    }
                    in_flight.insert(id);
                    sent = true;
                }
                if !sent {
                    queue.wait(prefix, IDLE_WAIT).await;
                }
            }
        });
    }

    /// The event a command row asks for, checked against the execution as a command of this
    /// process would be; a refused or unreadable command is reported and dropped.
    fn command_event(&self, id: &str, payload: Value) -> Option<Event> {
        let command: RowCommand = match serde_json::from_value(payload) {
            Ok(command) => command,
            Err(error) => {
                eprintln!("executor: unreadable command for {id}: {error}");
                return None;
            }
        };
        match command {
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
                    Ok(event) => Some(event),
                    Err(error) => {
                        eprintln!("executor: a worker's resume of {id} is refused: {error}");
                        None
                    }
                }
            }
            RowCommand::Forget => {
                if let Ok(mut shared) = self.shared.lock() {
                    shared.forget(id);
                }
                None
            }
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
