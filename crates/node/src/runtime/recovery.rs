//! Taking back what a previous process left in the store: executions that had not ended, and
//! every outbox row not yet consumed (worker jobs, timers, subflow starts and ends, replays).

use peregrine_engine::Event;
use peregrine_model::state::State;
use peregrine_ports::partition::Partitions;
use peregrine_ports::store::StoredExecution;
use tokio::sync::watch;

use super::outbox::{self, Pending};
use super::{LocalRuntime, RuntimeError, uid};

/// What [`LocalRuntime::recover`] took back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub executions: usize,
    pub jobs: usize,
    pub timers: usize,
    pub subflows: usize,
    /// Executions or rows that could not be taken back (their flow is gone, unreadable rows),
    /// with the reason.
    pub skipped: Vec<String>,
}

impl LocalRuntime {
    /// Takes back the unfinished executions and the outbox of the store. Call it once, after
    /// loading the flows and before serving. With workers in other processes, their results are
    /// read from then on (a result read before its execution is taken back would be lost).
    /// When executors share the load, nothing is taken back here: each partition is, when it
    /// is taken ([`LocalRuntime::take_partition`]).
    pub async fn recover(&self) -> Result<Recovered, RuntimeError> {
        let recovered = match self.partitions.count() {
            Some(_) => Recovered::default(),
            None => self.take_back(&Partitions::All).await?,
        };
        if let Some(queue) = &self.remote {
            self.read_rows(queue.clone(), peregrine_ports::queue::RESULTS);
        }
        if let Some(queue) = &self.commands {
            self.read_rows(queue.clone(), peregrine_ports::queue::COMMANDS);
        }
        Ok(recovered)
    }

    /// Takes back the unfinished executions of `partitions` and their outbox rows.
    pub(super) async fn take_back(
        &self,
        partitions: &Partitions,
    ) -> Result<Recovered, RuntimeError> {
        let mut recovered = Recovered::default();
        for stored in self.store.unfinished(partitions).await? {
            let id = stored.execution.id.clone();
            match self.take_back_one(stored).await {
                Ok(()) => recovered.executions += 1,
                Err(reason) => recovered.skipped.push(format!("execution {id}: {reason}")),
            }
        }
        let ready = self
            .shared
            .lock()
            .map(|mut shared| {
                let shared = &mut *shared;
                shared.limits.ready(&shared.plans)
            })
            .unwrap_or_default();
        for id in ready {
            self.send(&id, Event::Start);
        }
        for row in self.store.outbox(partitions).await? {
            let pending = match outbox::read(&row) {
                Ok(pending) => pending,
                Err(reason) => {
                    recovered
                        .skipped
                        .push(format!("{} {}: {reason}", row.execution_id, row.key));
                    continue;
                }
            };
            let id = row.execution_id.as_str();
            match pending {
                Pending::Job(job) => {
                    recovered.jobs += 1;
                    // Workers in other processes claim it from the store.
                    if self.remote.is_none() {
                        self.run_job(id, *job);
                    }
                }
                Pending::FromRow => {}
                Pending::Timer(timer) => {
                    recovered.timers += 1;
                    self.set_timer(id, timer.at, timer.kind);
                }
                Pending::Subflow(start) => {
                    let exists = self.execution(&start.execution_id).is_some()
                        || self.store.get(&start.execution_id).await?.is_some();
                    if !exists {
                        recovered.subflows += 1;
                        self.start_subflow(id, *start);
                    }
                }
                Pending::Ended(ended) => {
                    if let Some(child) = self.store.get(id).await? {
                        self.send_ended(&child, ended.parent, ended.state);
                    }
                }
                Pending::Replay(replay) => {
                    if let Some(old) = self.store.get(id).await? {
                        let runtime = self.clone();
                        let generation = self.partitions.stamp(id);
                        tokio::spawn(async move {
                            let wait = replay.at.duration_since(jiff::Timestamp::now());
                            if wait.is_positive() {
                                tokio::time::sleep(wait.unsigned_abs()).await;
                            }
                            if runtime.partitions.generation(&old.id) == Some(generation) {
                                runtime.replay_now(old);
                            }
                        });
                    }
                }
            }
        }
        Ok(recovered)
    }

    /// Reads an ended execution back into the executor (to restart it).
    pub(super) async fn restore(&self, id: &str) -> Result<(), RuntimeError> {
        let stored = self
            .store
            .load(id)
            .await?
            .ok_or_else(|| RuntimeError::UnknownExecution(id.to_string()))?;
        self.take_back_one(stored)
            .await
            .map_err(|_| RuntimeError::UnknownExecution(id.to_string()))
    }

    /// Puts a stored execution back into the executor, on the plan of its own flow revision.
    async fn take_back_one(&self, stored: StoredExecution) -> Result<(), String> {
        let execution = &stored.execution;
        let key = uid(&execution.namespace, &execution.flow_id);
        let plan = self
            .revision_plan(
                &execution.namespace,
                &execution.flow_id,
                execution.flow_revision,
            )
            .await?;
        let mut shared = self
            .shared
            .lock()
            .map_err(|_| "the runtime is poisoned".to_string())?;
        let id = execution.id.clone();
        // Held already (created here since the partition was taken): what is held is newer.
        if shared.executor.holds(&id) {
            return Ok(());
        }
        let created = execution.state.current == State::Created;
        if let Some(parent) = stored.parent.clone()
            && !execution.state.is_terminated()
        {
            shared.parents.insert(id.clone(), parent);
        }
        shared
            .limits
            .restore(&key, &plan, &id, execution.state.current);
        let (watcher, _) = watch::channel(execution.clone());
        // Only a replay's first commit leaves an execution RESTARTED: the server stopped before
        // its first step, so it is continued from what the replay had handed the executor.
        let replaying = execution.state.current == State::Restarted;
        let stored = if replaying {
            StoredExecution {
                execution: peregrine_engine::replay::to_restart_from_committed(&stored.execution),
                ..stored
            }
        } else {
            stored
        };
        shared
            .executor
            .restore(plan, stored)
            .map_err(|error| error.to_string())?;
        shared.watchers.insert(id.clone(), watcher);
        drop(shared);
        if created {
            self.send(&id, Event::Start);
        }
        if replaying {
            self.send(&id, Event::Restart);
        }
        Ok(())
    }
}
