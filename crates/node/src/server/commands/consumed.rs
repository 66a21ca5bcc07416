//! When the executor has carried out the commands a webserver of its own wrote: a command row is
//! deleted once its command is carried out (a start by the commit that creates its execution), so
//! one read of the pending command rows tells every waiting request at once (one query per pass,
//! whatever the number of requests waiting).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use peregrine_ports::partition::Partitions;
use peregrine_ports::queue::{COMMANDS, OutboxQueue};
use tokio::sync::{Notify, oneshot};

/// The pause between two reads while requests wait.
const PASS: Duration = Duration::from_millis(2);
/// At most this many pending command rows are read in one pass; when there are more, nothing is
/// concluded from that pass.
const READ: usize = 4_096;

/// A command row: execution id and key.
type Row = (String, String);

/// The requests waiting for their command to be carried out, by row.
type Waiting = HashMap<Row, Vec<oneshot::Sender<()>>>;

pub(super) struct Consumed {
    queue: Arc<dyn OutboxQueue>,
    waiting: Arc<Mutex<Waiting>>,
    wake: Arc<Notify>,
    watcher: OnceLock<()>,
}

impl Consumed {
    pub(super) fn new(queue: Arc<dyn OutboxQueue>) -> Self {
        Self {
            queue,
            waiting: Arc::default(),
            wake: Arc::default(),
            watcher: OnceLock::new(),
        }
    }

    /// Resolves once the row `key` of execution `id` is gone (its command carried out), or
    /// after `timeout`; true when it is gone.
    pub(super) async fn taken(&self, id: &str, key: &str, timeout: Duration) -> bool {
        self.watcher.get_or_init(|| {
            tokio::spawn(watch(
                self.queue.clone(),
                self.waiting.clone(),
                self.wake.clone(),
            ));
        });
        let row = (id.to_string(), key.to_string());
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.entry(row.clone()).or_default().push(sender);
        }
        self.wake.notify_one();
        let taken = matches!(tokio::time::timeout(timeout, receiver).await, Ok(Ok(())));
        if !taken && let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(&row);
        }
        taken
    }
}

/// Reads the pending command rows while requests wait, and tells those whose row is gone.
async fn watch(queue: Arc<dyn OutboxQueue>, waiting: Arc<Mutex<Waiting>>, wake: Arc<Notify>) {
    loop {
        let idle = waiting
            .lock()
            .map(|waiting| waiting.is_empty())
            .unwrap_or(true);
        if idle {
            wake.notified().await;
            continue;
        }
        // Rows asked about before this read: a row put after it was read would look gone.
        let asked: Vec<Row> = waiting
            .lock()
            .map(|waiting| waiting.keys().cloned().collect())
            .unwrap_or_default();
        if let Ok(rows) = queue.rows(COMMANDS, &Partitions::All, READ).await
            && rows.len() < READ
        {
            let pending: HashSet<Row> = rows
                .into_iter()
                .map(|row| (row.execution_id, row.key))
                .collect();
            if let Ok(mut waiting) = waiting.lock() {
                for row in asked.iter().filter(|row| !pending.contains(*row)) {
                    for sender in waiting.remove(row).unwrap_or_default() {
                        let _ = sender.send(());
                    }
                }
            }
        }
        tokio::time::sleep(PASS).await;
    }
}
