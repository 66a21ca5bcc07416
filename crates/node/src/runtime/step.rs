//! The event loop: take every waiting message, apply them, commit what changed in one store
//! commit, then publish and carry out the effects.

use std::collections::HashSet;
use std::time::Duration;

use peregrine_engine::effects::{EngineLog, LogLevel};
use peregrine_engine::{Effect, Event};
use peregrine_model::execution::Execution;
use peregrine_ports::store::Commit;
use tokio::sync::mpsc;

use super::{LocalRuntime, Message, outbox};
use crate::flow_triggers::Fired;

/// At most this many messages are applied and committed together.
const MAX_BATCH: usize = 512;
/// The longest wait between two attempts at a commit the store refused.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What one batch changed, waiting for its commit.
#[derive(Default)]
struct Batch {
    /// Executions touched, in the order first touched.
    touched: Vec<String>,
    /// The same ids, to tell a new one at once (a batch holds up to `MAX_BATCH` messages).
    seen: HashSet<String>,
    effects: Vec<(String, Vec<Effect>)>,
    /// Every version in which an execution's state changed, in order, for Flow triggers.
    state_changes: Vec<Execution>,
    commit: Commit,
}

impl Batch {
    fn touch(&mut self, id: &str) {
        if self.seen.insert(id.to_string()) {
            self.touched.push(id.to_string());
        }
    }
}

impl LocalRuntime {
    pub(super) async fn event_loop(self, mut receiver: mpsc::UnboundedReceiver<Message>) {
        let mut messages = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = receiver.recv().await {
            // A partition given up is dropped between two steps: after the step under way
            // is committed, before the messages that follow.
            let mut give = None;
            match first {
                Message::Give { .. } => give = Some(first),
                first => messages.push(first),
            }
            while give.is_none() && messages.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(message @ Message::Give { .. }) => give = Some(message),
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
            if !messages.is_empty() {
                self.step(std::mem::take(&mut messages)).await;
            }
            if let Some(Message::Give {
                partition,
                count,
                done,
            }) = give
            {
                self.drop_partition(partition, count);
                let _ = done.send(());
            }
        }
    }

    async fn step(&self, messages: Vec<Message>) {
        self.restore_for(&messages).await;
        let mut batch = self.apply(messages);
        self.commit(std::mem::take(&mut batch.commit)).await;
        let (fired, freed) = self.publish(&batch);
        for id in freed {
            self.send(&id, Event::Start);
        }
        for (id, effects) in batch.effects {
            for effect in effects {
                self.carry_out(&id, effect);
            }
        }
        for (cause, mut fired) in fired {
            // In its cause's partition: the partition that ran the cause is held here.
            if fired.new.id.is_empty()
                && let Some(id) = self.partitions.new_id_beside(&cause)
            {
                fired.new.id = id;
            }
            if let Ok(plan) = self.plan(&fired.namespace, &fired.flow_id) {
                let _ = self.create_typed(plan, fired.new, super::Origin::default());
            }
        }
    }

    /// Reads back from the store an ended execution asked to restart (or given new labels) that
    /// is no longer held.
    async fn restore_for(&self, messages: &[Message]) {
        for message in messages {
            let id = match message {
                Message::Event {
                    id,
                    event: Event::Restart,
                    ..
                }
                | Message::FromRow {
                    id,
                    event: Some(Event::Restart),
                    ..
                }
                | Message::Labels { id, .. } => id,
                _ => continue,
            };
            if !self.partitions.holds(id) {
                continue;
            }
            let held = self
                .shared
                .lock()
                .is_ok_and(|shared| shared.executor.holds(id));
            if !held {
                let _ = self.restore(id).await;
            }
        }
    }

    /// Applies every event and gathers the commit: transitions, outbox rows, log lines.
    fn apply(&self, messages: Vec<Message>) -> Batch {
        let mut batch = Batch::default();
        let Ok(mut shared) = self.shared.lock() else {
            return batch;
        };
        for message in messages {
            // Another executor's execution (its partition was given up, maybe taken back
            // since): what made this message is durable, and whoever holds the partition took
            // it back.
            if let Some((id, generation)) = stamp_of(&message)
                && self.partitions.generation(id) != Some(generation)
            {
                continue;
            }
            let (id, event) = match message {
                Message::Event { id, event, .. } => (id, event),
                Message::FromRow { id, key, event, .. } => {
                    batch.commit.done.push((id.clone(), key));
                    match event {
                        Some(event) => (id, event),
                        None => continue,
                    }
                }
                Message::Hold { id, state, .. } => {
                    if shared.executor.hold(&id, state) {
                        batch.touch(&id);
                        if state.is_terminated() {
                            let log = EngineLog {
                                task_run_id: None,
                                task_id: None,
                                level: LogLevel::Warn,
                                message: format!(
                                    "the flow's concurrency limit is reached: the execution ends {}",
                                    crate::server::state_name(state)
                                ),
                            };
                            batch
                                .effects
                                .push((id, vec![Effect::Log(log), Effect::Ended(state)]));
                        }
                    }
                    continue;
                }
                Message::Flush | Message::Give { .. } => continue,
                Message::Labels { id, labels, .. } => {
                    if shared.executor.set_labels(&id, labels) {
                        batch.touch(&id);
                    }
                    continue;
                }
            };
            let before = shared.executor.execution(&id).map(|e| e.state.current);
            let consumed = consumed_by(&id, &event);
            let Ok(effects) = shared.executor.handle(&id, event) else {
                continue;
            };
            batch.commit.done.extend(consumed);
            if let Some(execution) = shared.executor.execution(&id)
                && Some(execution.state.current) != before
            {
                batch.state_changes.push(execution.clone());
            }
            batch.touch(&id);
            batch.effects.push((id, effects));
        }
        // Their new state is not durable until the commit: `wait_for` must not answer it.
        shared.committing.extend(batch.touched.iter().cloned());
        for id in &batch.touched {
            let Some(transition) = shared.executor.transition(id) else {
                continue;
            };
            for (_, run) in &transition.task_runs {
                if run.state.current.is_terminated() {
                    batch
                        .commit
                        .done
                        .push((id.clone(), outbox::job_key(&run.id)));
                }
            }
            if transition.root.is_some()
                && let Some(consumed) = shared.consumes.remove(id)
            {
                batch.commit.done.push(consumed);
            }
            if transition
                .header
                .as_ref()
                .is_some_and(|header| header.state.is_terminated())
            {
                for prefix in [outbox::JOB, outbox::TIMER] {
                    batch
                        .commit
                        .done_prefix
                        .push((id.clone(), prefix.to_string()));
                }
                // Late reports of workers in other processes.
                if self.remote.is_some() {
                    batch
                        .commit
                        .done_prefix
                        .push((id.clone(), peregrine_ports::queue::RESULTS.to_string()));
                }
            }
            batch.commit.transitions.push(transition);
        }
        for (id, effects) in &batch.effects {
            let execution = shared.executor.execution(id);
            let parent = shared.parents.get(id);
            for effect in effects {
                if let Some(row) = outbox::row_of(id, effect, parent) {
                    batch.commit.put.push(row);
                }
                if let Effect::Log(log) = effect {
                    batch
                        .commit
                        .logs
                        .push(super::effects::engine_log(id, execution, log.clone()));
                }
            }
        }
        drop(shared);
        batch.commit.logs.extend(self.pending_logs.take());
        batch
    }

    /// Commits, trying again with a growing pause while the store refuses (a database restart
    /// costs latency, not executions).
    async fn commit(&self, commit: Commit) {
        if commit.is_empty() {
            return;
        }
        let commit = std::sync::Arc::new(commit);
        let mut pause = Duration::from_millis(10);
        loop {
            match self.store.commit(commit.clone()).await {
                Ok(()) => return,
                Err(error) => {
                    eprintln!("the store refused a commit, trying again in {pause:?}: {error}");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// After the commit: new versions to watchers and followers, first-commit waiters, Flow
    /// triggers; ended executions leave memory beyond `keep_finished`.
    /// Returns the Flow triggers fired (with the execution that fired each) and the queued
    /// executions whose turn has come.
    fn publish(&self, batch: &Batch) -> (Vec<(String, Fired)>, Vec<String>) {
        let Ok(mut shared) = self.shared.lock() else {
            return (Vec::new(), Vec::new());
        };
        shared.committing.clear();
        let mut fired = Vec::new();
        let mut freed = Vec::new();
        let now = jiff::Timestamp::now();
        for execution in &batch.state_changes {
            let evaluated = self.flow_triggers.evaluate(execution, &shared.plans, now);
            fired.extend(
                evaluated
                    .into_iter()
                    .map(|fired| (execution.id.clone(), fired)),
            );
        }
        for id in &batch.touched {
            let shared = &mut *shared;
            let Some(execution) = shared.executor.execution(id) else {
                continue;
            };
            // A copy of a large execution per step would make steps cost its size: watchers
            // get one when the state moves and at the end; waiters when their condition holds.
            let ended = execution.state.is_terminated();
            if let Some(watcher) = shared.watchers.get(id) {
                let moved = watcher.borrow().state.current != execution.state.current;
                if moved || ended {
                    watcher.send_replace(execution.clone());
                }
            }
            if let Some(waiters) = shared.waiters.get_mut(id) {
                let mut index = 0;
                while index < waiters.len() {
                    if waiters[index].1.is_closed() || waiters[index].0(execution) {
                        let (_, sender) = waiters.swap_remove(index);
                        let _ = sender.send(execution.clone());
                    } else {
                        index += 1;
                    }
                }
                if waiters.is_empty() {
                    shared.waiters.remove(id);
                }
            }
            shared.subscribers.notify(execution);
            for waiter in shared.uncommitted.remove(id).into_iter().flatten() {
                let _ = waiter.send(());
            }
            if ended {
                let execution = execution.clone();
                let key = super::uid(&execution.namespace, &execution.flow_id);
                let plan = shared.plans.get(&key).cloned();
                freed.extend(shared.limits.release(&key, plan.as_deref(), id));
                self.finish(shared, &execution);
            }
        }
        (fired, freed)
    }

    fn finish(&self, shared: &mut super::Shared, execution: &Execution) {
        if self.keep_finished == usize::MAX {
            return;
        }
        let out = shared
            .finished
            .keep(&execution.id, execution.task_run_list.len());
        shared.executor.evict(&execution.id);
        shared.waiters.remove(&execution.id);
        for old in out {
            if !shared.executor.holds(&old) {
                shared.watchers.remove(&old);
            }
        }
    }
}

/// The execution a message is about, and the generation of its partition it was made in.
fn stamp_of(message: &Message) -> Option<(&str, u64)> {
    match message {
        Message::Event { id, generation, .. }
        | Message::Hold { id, generation, .. }
        | Message::FromRow { id, generation, .. }
        | Message::Labels { id, generation, .. } => Some((id, *generation)),
        Message::Flush | Message::Give { .. } => None,
    }
}

/// Outbox rows an event consumes: the timer that fired, the subflow end reported.
fn consumed_by(id: &str, event: &Event) -> Vec<(String, String)> {
    match event {
        Event::Timer(kind) => vec![(id.to_string(), outbox::timer_key(kind))],
        Event::SubflowEnded(ended) => {
            vec![(ended.execution_id.clone(), outbox::ENDED.to_string())]
        }
        _ => Vec::new(),
    }
}
