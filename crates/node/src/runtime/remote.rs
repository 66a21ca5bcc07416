//! Workers in other processes: the runtime hands its jobs out through the store's outbox (the
//! `job:` rows its commits write are what workers claim) and reads back the `result:` rows they
//! write. A result is applied by the commit that deletes it, so it is applied once even if this
//! process stops in between (the next one reads it again).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use peregrine_engine::TaskUpdate;
use peregrine_ports::queue::{JOBS, OutboxQueue, RESULTS};

use super::{LocalRuntime, Message};

/// At most this many results are read at once.
const READ_BATCH: usize = 2_048;
/// The longest wait for results when no notification comes.
const IDLE_WAIT: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl LocalRuntime {
    /// Reads the workers' results into the event loop, for as long as the runtime lives.
    pub(super) fn read_results(&self, queue: Arc<dyn OutboxQueue>) {
        let sender = self.sender.clone();
        tokio::spawn(async move {
            // Rows sent to the event loop and not yet deleted by its commit.
            let mut in_flight: HashSet<(String, String)> = HashSet::new();
            let mut pause = Duration::from_millis(10);
            loop {
                let rows = match queue.rows(RESULTS, READ_BATCH).await {
                    Ok(rows) => rows,
                    Err(error) => {
                        eprintln!("executor: cannot read worker results, trying again: {error}");
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
                    let update: Option<TaskUpdate> = serde_json::from_value(row.payload).ok();
                    let message = Message::Reported {
                        id: id.0.clone(),
                        key: id.1.clone(),
                        update,
                    };
                    if sender.send(message).is_err() {
                        return;
                    }
                    in_flight.insert(id);
                    sent = true;
                }
                if !sent {
                    queue.wait(RESULTS, IDLE_WAIT).await;
                }
            }
        });
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
