//! The worker role in a process of its own: it claims the executor's `job:` rows from the
//! store, runs them, and writes each task update back as a `result:` row (with the task's log
//! lines, in one commit) for the executor to apply.
//!
//! Liveness is the claim's lease: a heartbeat renews every lease this worker holds; a worker
//! that cannot renew for the liveness timeout stops its tasks and itself, since another worker
//! may then claim them. A row claimed after its lease expired comes with `claims > 1`: the
//! attempts lost are reported RESUBMITTED and the task runs as the next attempt. A graceful
//! stop claims nothing more, lets running tasks finish for the grace period, then hands the
//! others back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use peregrine_engine::{TaskUpdate, WorkerJob};
use peregrine_model::execution::{Attempt, StateHistory};
use peregrine_model::state::State;
use peregrine_plugin_api::{LogEntry, LogSink};
use peregrine_ports::queue::{Claimed, JOBS, KILLS, OutboxQueue, result_key};
use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::Worker;

/// At most this many rows are claimed at once.
const CLAIM_BATCH: usize = 64;
/// The longest wait for new jobs when no notification comes.
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// The longest pause between two attempts at a refused store call.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How the worker keeps its claims.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// How often the leases are renewed.
    pub heartbeat: Duration,
    /// How long a lease lasts: a worker silent this long is taken for dead and its task runs go
    /// to other workers.
    pub timeout: Duration,
    /// How long a graceful stop lets running tasks finish before handing them back.
    pub grace: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            grace: Duration::from_secs(30),
        }
    }
}

/// Why a worker stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(
        "the worker could not renew its claims for {0:?} (its tasks may run elsewhere now) and stopped: {1}"
    )]
    Liveness(Duration, String),
}

/// Task updates and log lines waiting for the next report commit; the worker's log sink.
#[derive(Default)]
pub struct Reports {
    pending: Mutex<(Vec<OutboxRow>, Vec<LogEntry>)>,
    wake: Notify,
}

impl LogSink for Reports {
    fn emit(&self, entry: LogEntry) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.1.push(entry);
        }
        self.wake.notify_one();
    }
}

impl Reports {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn update(&self, execution_id: &str, update: &TaskUpdate) {
        let state = serde_json::to_value(update.state).unwrap_or_default();
        let key = result_key(
            &update.task_run_id,
            update.attempt,
            state.as_str().unwrap_or_default(),
        );
        let Ok(payload) = serde_json::to_value(update) else {
            return;
        };
        if let Ok(mut pending) = self.pending.lock() {
            pending.0.push(OutboxRow {
                execution_id: execution_id.to_string(),
                key,
                payload,
            });
        }
        self.wake.notify_one();
    }

    fn take(&self) -> Commit {
        let (put, logs) = self
            .pending
            .lock()
            .map(|mut pending| std::mem::take(&mut *pending))
            .unwrap_or_default();
        Commit {
            put,
            logs,
            ..Commit::default()
        }
    }

    /// Commits what waits, trying again while the store refuses; false if `stop` came first.
    async fn flush(&self, store: &dyn ExecutionStore, stop: &CancellationToken) -> bool {
        let commit = self.take();
        if commit.is_empty() {
            return true;
        }
        let commit = Arc::new(commit);
        let mut pause = Duration::from_millis(10);
        loop {
            let committed = tokio::select! {
                committed = store.commit(commit.clone()) => committed,
                () = stop.cancelled() => return false,
            };
            match committed {
                Ok(()) => return true,
                Err(error) => {
                    eprintln!("worker: the store refused its reports, trying again: {error}");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = stop.cancelled() => return false,
                    }
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Commits reports as they come until `stop`, then what is left; a commit under way is
    /// only given up at `deadline` (the store is unreachable).
    async fn run(
        self: Arc<Self>,
        store: Arc<dyn ExecutionStore>,
        stop: CancellationToken,
        deadline: CancellationToken,
    ) {
        loop {
            let stopping = tokio::select! {
                () = self.wake.notified() => false,
                () = stop.cancelled() => true,
            };
            self.flush(store.as_ref(), &deadline).await;
            if stopping {
                return;
            }
        }
    }
}

/// A row this worker holds.
struct Holding {
    task_run_id: String,
    /// Set when the task is stopped because the row is no longer ours: its reports are dropped.
    abandoned: Arc<AtomicBool>,
    /// The task has ended and reported; the row waits for the executor to consume it.
    finished: bool,
}

type Held = Arc<Mutex<HashMap<(String, String), Holding>>>;

/// Taken by a claim until its rows are in `Held`, and by a renewal until it has compared what
/// the store says this worker holds with `Held`: so neither sees the other half done.
type ClaimLock = Arc<tokio::sync::Mutex<()>>;

/// The worker of a separate process, over the store's outbox.
pub struct RemoteWorker {
    worker: Worker,
    queue: Arc<dyn OutboxQueue>,
    store: Arc<dyn ExecutionStore>,
    reports: Arc<Reports>,
    options: RemoteOptions,
    held: Held,
    claiming: ClaimLock,
}

impl RemoteWorker {
    /// `reports` must be the log sink `worker` was built with, so log lines ride the reports.
    pub fn new(
        worker: Worker,
        queue: Arc<dyn OutboxQueue>,
        store: Arc<dyn ExecutionStore>,
        reports: Arc<Reports>,
        options: RemoteOptions,
    ) -> Self {
        Self {
            worker,
            queue,
            store,
            reports,
            options,
            held: Arc::default(),
            claiming: Arc::default(),
        }
    }

    /// Claims and runs jobs until `shutdown` (then stops gracefully) or until it cannot renew
    /// its claims (then stops its tasks and returns the error).
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), RemoteError> {
        let (flush_stop, flush_deadline) = (CancellationToken::new(), CancellationToken::new());
        let flusher = tokio::spawn(self.reports.clone().run(
            self.store.clone(),
            flush_stop.clone(),
            flush_deadline.clone(),
        ));
        let lost = CancellationToken::new();
        let failure = Arc::new(Mutex::new(None));
        let heartbeat = tokio::spawn(heartbeat(
            self.worker.clone(),
            self.queue.clone(),
            self.held.clone(),
            self.claiming.clone(),
            self.options.clone(),
            lost.clone(),
            failure.clone(),
        ));
        let slots = Arc::new(Semaphore::new(self.worker.slots()));
        self.claim_loop(&slots, &shutdown, &lost).await;
        if !lost.is_cancelled() {
            let everything = u32::try_from(self.worker.slots()).unwrap_or(u32::MAX);
            let finished = tokio::time::timeout(self.options.grace, slots.acquire_many(everything));
            tokio::select! {
                _ = finished => {}
                () = lost.cancelled() => {}
            }
        }
        let handed_back = self.abandon_all();
        if !lost.is_cancelled() && !handed_back.is_empty() {
            let _ = self.queue.release(self.worker.id(), handed_back).await;
        }
        heartbeat.abort();
        // What the tasks reported before the stop is written (the commit under way finished,
        // then the rest), unless the store is gone too.
        let wait = if lost.is_cancelled() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(5)
        };
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            flush_deadline.cancel();
        });
        flush_stop.cancel();
        let _ = flusher.await;
        match failure.lock().ok().and_then(|mut failure| failure.take()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Claims while slots are free, until `shutdown` or `lost`; a claim under way is finished
    /// (and its rows started) before either is looked at.
    async fn claim_loop(
        &self,
        slots: &Arc<Semaphore>,
        shutdown: &CancellationToken,
        lost: &CancellationToken,
    ) {
        let mut pause = Duration::from_millis(10);
        loop {
            let first = tokio::select! {
                permit = slots.clone().acquire_owned() => permit,
                () = shutdown.cancelled() => return,
                () = lost.cancelled() => return,
            };
            let Ok(first) = first else {
                return;
            };
            let mut permits = vec![first];
            while permits.len() < CLAIM_BATCH {
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            let claiming = self.claiming.lock().await;
            // A worker that lost its liveness leaves at once, even in the middle of a claim (rows
            // claimed then are taken again by others once their lease expires).
            let claimed = tokio::select! {
                claimed = self
                    .queue
                    .claim(JOBS, self.worker.id(), permits.len(), self.options.timeout) => claimed,
                () = lost.cancelled() => return,
            };
            match claimed {
                Ok(claimed) if claimed.is_empty() => {
                    drop(claiming);
                    drop(permits);
                    tokio::select! {
                        () = self.queue.wait(JOBS, IDLE_WAIT) => {}
                        () = shutdown.cancelled() => return,
                        () = lost.cancelled() => return,
                    }
                }
                Ok(claimed) => {
                    pause = Duration::from_millis(10);
                    for (claim, permit) in claimed.into_iter().zip(permits) {
                        self.start(claim, permit);
                    }
                }
                Err(error) => {
                    drop(claiming);
                    drop(permits);
                    eprintln!("worker: cannot claim jobs, trying again in {pause:?}: {error}");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = shutdown.cancelled() => return,
                        () = lost.cancelled() => return,
                    }
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn start(&self, claim: Claimed, permit: OwnedSemaphorePermit) {
        let Claimed {
            row,
            claims,
            killed,
        } = claim;
        let execution_id = row.execution_id.clone();
        let report = |task_run_id: &str, attempt: u32, state: State| {
            let update = TaskUpdate {
                task_run_id: task_run_id.to_string(),
                attempt,
                state,
                outputs: None,
                worker_id: Some(self.worker.id().to_string()),
            };
            self.reports.update(&execution_id, &update);
        };
        let mut job: WorkerJob = match serde_json::from_value(row.payload) {
            Ok(job) => job,
            Err(error) => {
                let task_run_id = row.key.strip_prefix(JOBS).unwrap_or_default();
                eprintln!(
                    "worker: unreadable job {} {}: {error}",
                    execution_id, row.key
                );
                report(task_run_id, claims.max(1), State::Failed);
                return;
            }
        };
        let now = jiff::Timestamp::now();
        let before = u32::try_from(job.task_run.attempts.len()).unwrap_or(u32::MAX);
        let attempt = before.saturating_add(claims.max(1));
        for lost in before + 1..attempt {
            report(&job.task_run.id, lost, State::Resubmitted);
            job.task_run.attempts.push(Attempt {
                state: StateHistory::new(State::Resubmitted, now),
                worker_id: None,
                log_file: None,
            });
        }
        if killed {
            report(&job.task_run.id, attempt, State::Killed);
            return;
        }
        let abandoned = Arc::new(AtomicBool::new(false));
        let key = (execution_id.clone(), row.key);
        if let Ok(mut held) = self.held.lock() {
            held.insert(
                key.clone(),
                Holding {
                    task_run_id: job.task_run.id.clone(),
                    abandoned: abandoned.clone(),
                    finished: false,
                },
            );
        }
        let (worker, reports, held) =
            (self.worker.clone(), self.reports.clone(), self.held.clone());
        tokio::spawn(async move {
            worker
                .execute(job, |update| {
                    if !abandoned.load(Ordering::SeqCst) {
                        reports.update(&execution_id, &update);
                    }
                })
                .await;
            if let Ok(mut held) = held.lock()
                && let Some(holding) = held.get_mut(&key)
            {
                holding.finished = true;
            }
            drop(permit);
        });
    }

    /// Stops every task still running without reporting it; returns their rows.
    fn abandon_all(&self) -> Vec<(String, String)> {
        let Ok(mut held) = self.held.lock() else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for ((execution_id, key), holding) in held.drain() {
            if holding.finished {
                continue;
            }
            holding.abandoned.store(true, Ordering::SeqCst);
            self.worker.cancel(&execution_id, &holding.task_run_id);
            rows.push((execution_id, key));
        }
        rows
    }
}

/// Renews the leases every `heartbeat` (and at once when an execution is killed); stops tasks
/// whose rows are gone or killed; cancels `lost` when renewals failed for the whole timeout.
async fn heartbeat(
    worker: Worker,
    queue: Arc<dyn OutboxQueue>,
    held: Held,
    claiming: ClaimLock,
    options: RemoteOptions,
    lost: CancellationToken,
    failure: Arc<Mutex<Option<RemoteError>>>,
) {
    let mut renewed = Instant::now();
    let mut tried = Instant::now();
    loop {
        queue.wait(KILLS, options.heartbeat).await;
        // A backend without notifications wakes kill waiters at its polling pace: renew at most
        // ten times a second.
        let spacing = (options.heartbeat / 10).max(Duration::from_millis(100));
        let since = tried.elapsed();
        if since < spacing {
            tokio::time::sleep(spacing - since).await;
        }
        tried = Instant::now();
        // Bounded, so a claim or a renewal stuck on an unreachable database does not hold the
        // liveness check.
        let bound = options.heartbeat.max(Duration::from_millis(100));
        let timed_out = |what: &str| {
            Err(peregrine_ports::repository::Error::Backend(format!(
                "{what} timed out"
            )))
        };
        let guard = tokio::time::timeout(bound, claiming.lock()).await.ok();
        let renewal = match &guard {
            Some(_) => tokio::time::timeout(bound, queue.renew(worker.id(), options.timeout))
                .await
                .unwrap_or_else(|_| timed_out("renewing the claims")),
            None => timed_out("waiting for a claim under way"),
        };
        match renewal {
            Ok(rows) => {
                renewed = Instant::now();
                let still: HashMap<(String, String), bool> = rows
                    .into_iter()
                    .map(|row| ((row.execution_id, row.key), row.killed))
                    .collect();
                let strays = {
                    let Ok(mut held) = held.lock() else {
                        return;
                    };
                    // Rows the store says are ours but nothing here runs (a claim cut short):
                    // handed back rather than kept alive by every renewal.
                    let strays: Vec<(String, String)> = still
                        .keys()
                        .filter(|row| !held.contains_key(*row))
                        .cloned()
                        .collect();
                    held.retain(|(execution_id, key), holding| {
                        match still.get(&(execution_id.clone(), key.clone())) {
                            // Consumed by the executor, or claimed by another worker.
                            None => {
                                if !holding.finished {
                                    holding.abandoned.store(true, Ordering::SeqCst);
                                    worker.cancel(execution_id, &holding.task_run_id);
                                }
                                false
                            }
                            Some(true) => {
                                worker.cancel(execution_id, &holding.task_run_id);
                                true
                            }
                            Some(false) => true,
                        }
                    });
                    strays
                };
                drop(guard);
                if !strays.is_empty() {
                    let _ = queue.release(worker.id(), strays).await;
                }
            }
            Err(error) => {
                if renewed.elapsed() >= options.timeout {
                    if let Ok(mut failure) = failure.lock() {
                        *failure = Some(RemoteError::Liveness(options.timeout, error.to_string()));
                    }
                    lost.cancel();
                    return;
                }
            }
        }
    }
}
