//! When the executor has taken the starts a webserver of its own wrote: a start row is deleted by
//! the commit that creates its execution, so one read of the pending start rows tells every
//! waiting request at once (one query per pass, whatever the number of requests waiting).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use peregrine_ports::queue::{COMMANDS, OutboxQueue};
use tokio::sync::{Notify, oneshot};

/// The pause between two reads while requests wait.
const PASS: Duration = Duration::from_millis(2);
/// At most this many pending start rows are read in one pass; when there are more, nothing is
/// concluded from that pass.
const READ: usize = 4_096;

/// The requests waiting for their start to be taken, by execution id.
type Waiting = HashMap<String, Vec<oneshot::Sender<()>>>;

pub(super) struct Started {
    queue: Arc<dyn OutboxQueue>,
    waiting: Arc<Mutex<Waiting>>,
    wake: Arc<Notify>,
    watcher: OnceLock<()>,
}

impl Started {
    pub(super) fn new(queue: Arc<dyn OutboxQueue>) -> Self {
        Self {
            queue,
            waiting: Arc::default(),
            wake: Arc::default(),
            watcher: OnceLock::new(),
        }
    }

    /// Resolves once the start row of `id` is gone (its execution committed), or after
    /// `timeout`; true when it is gone.
    pub(super) async fn taken(&self, id: &str, timeout: Duration) -> bool {
        self.watcher.get_or_init(|| {
            tokio::spawn(watch(
                self.queue.clone(),
                self.waiting.clone(),
                self.wake.clone(),
            ));
        });
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.entry(id.to_string()).or_default().push(sender);
        }
        self.wake.notify_one();
        let taken = matches!(tokio::time::timeout(timeout, receiver).await, Ok(Ok(())));
        if !taken && let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(id);
        }
        taken
    }
}

/// Reads the pending start rows while requests wait, and tells those whose row is gone.
async fn watch(queue: Arc<dyn OutboxQueue>, waiting: Arc<Mutex<Waiting>>, wake: Arc<Notify>) {
    let start_key = format!("{COMMANDS}start");
    loop {
        let idle = waiting
            .lock()
            .map(|waiting| waiting.is_empty())
            .unwrap_or(true);
        if idle {
            wake.notified().await;
            continue;
        }
        // Ids asked about before this read: a row put after it was read would look gone.
        let asked: Vec<String> = waiting
            .lock()
            .map(|waiting| waiting.keys().cloned().collect())
            .unwrap_or_default();
        if let Ok(rows) = queue.rows(COMMANDS, READ).await
            && rows.len() < READ
        {
            let pending: HashSet<String> = rows
                .into_iter()
                .filter(|row| row.key == start_key)
                .map(|row| row.execution_id)
                .collect();
            if let Ok(mut waiting) = waiting.lock() {
                for id in asked.iter().filter(|id| !pending.contains(*id)) {
                    for sender in waiting.remove(id).unwrap_or_default() {
                        let _ = sender.send(());
                    }
                }
            }
        }
        tokio::time::sleep(PASS).await;
    }
}
