//! The scheduler's loop. It keeps the schedule triggers of the loaded flows and their states,
//! fires every due slot, then sleeps until the earliest next slot or until it is told something
//! changed (a flow, a trigger state, an execution it started that ended). It never polls.
//!
//! A slot is fired in two steps: the claim, a conditional write of the trigger state (the slot
//! becomes `date`, the following one `nextExecutionDate`, and the new execution's id
//! `executionId`), then the start of that execution through the [`Launcher`]. Only one claim
//! of a slot can succeed. A crash between the two leaves a claim whose execution does not
//! exist: the next start of the scheduler finds it and starts the same execution, with the
//! same id and slot, so the slot is neither lost nor fired twice.
//!
//! Any number of schedulers may share one database. A claim made by another scheduler is
//! watched: when its execution ends, whichever scheduler learns of it first releases the claim,
//! and when its execution has not been created [`CLAIM_GRACE`] after this scheduler first saw
//! the claim, its scheduler is taken for dead and the execution is started here, with the same
//! id and slot. Launchers are idempotent on the execution's id, so a scheduler that was only
//! slow does not start it twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use peregrine_model::Flow;
use peregrine_model::state::State;
use peregrine_ports::triggers::{self, TriggerKey, TriggerQuery, TriggerState, TriggerStore};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::launcher::{Clock, Firing, Launcher, Started};
use crate::slots::{self, Due, Schedule};

/// How long a claim made by another scheduler may stay without its execution before this one
/// starts that execution itself.
pub const CLAIM_GRACE: SignedDuration = SignedDuration::from_secs(5);

/// When a claim first seen (or looked up in vain) at `now` is looked at again.
fn after_grace(now: Timestamp) -> Timestamp {
    now.saturating_add(CLAIM_GRACE).unwrap_or(now)
}

/// Told what went wrong, for the server's log.
pub type Report = Arc<dyn Fn(String) + Send + Sync>;

/// What the scheduler runs with.
#[derive(Clone)]
pub struct SchedulerOptions {
    pub triggers: Arc<dyn TriggerStore>,
    pub launcher: Arc<dyn Launcher>,
    pub clock: Arc<dyn Clock>,
    pub report: Report,
}

impl std::fmt::Debug for SchedulerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerOptions").finish_non_exhaustive()
    }
}

enum Message {
    /// A flow was loaded (created, updated, read back at start).
    Flow(Arc<Flow>),
    /// A flow was deleted.
    Removed { namespace: String, flow_id: String },
    /// An execution ended.
    Ended { execution_id: String, state: State },
    /// Trigger states changed from outside (enabled, disabled).
    Triggers,
}

/// A cheap-to-clone handle on the running scheduler.
#[derive(Clone, Debug)]
pub struct SchedulerHandle {
    sender: mpsc::UnboundedSender<Message>,
}

impl SchedulerHandle {
    /// A flow was created, updated or loaded at start: its schedule triggers are (re)read.
    pub fn flow_loaded(&self, flow: Arc<Flow>) {
        let _ = self.sender.send(Message::Flow(flow));
    }

    /// A flow was deleted: its triggers stop and their states are removed.
    pub fn flow_removed(&self, namespace: &str, flow_id: &str) {
        let _ = self.sender.send(Message::Removed {
            namespace: namespace.to_string(),
            flow_id: flow_id.to_string(),
        });
    }

    /// An execution ended; the trigger that started it may fire again.
    pub fn execution_ended(&self, execution_id: &str, state: State) {
        let _ = self.sender.send(Message::Ended {
            execution_id: execution_id.to_string(),
            state,
        });
    }

    /// Trigger states were changed by someone else (a Toggle task, the API): read them again.
    pub fn triggers_changed(&self) {
        let _ = self.sender.send(Message::Triggers);
    }
}

/// A schedule trigger of a loaded flow, with its last known state.
struct Entry {
    flow: Arc<Flow>,
    trigger_id: String,
    schedule: Schedule,
    /// The trigger as written, to tell an edited trigger from an unchanged one.
    definition: serde_json::Value,
    stop_after: Vec<State>,
    state: Option<TriggerState>,
}

/// The scheduler role.
pub struct Scheduler {
    options: SchedulerOptions,
    entries: BTreeMap<TriggerKey, Entry>,
    /// Executions started and not ended yet, with their trigger.
    running: HashMap<String, TriggerKey>,
    /// Claims made by other schedulers, by execution id: their trigger, and when to start the
    /// execution here if it does not exist by then.
    foreign: HashMap<String, (TriggerKey, Timestamp)>,
}

impl Scheduler {
    /// Starts the loop on the current tokio runtime; it stops when `shutdown` is cancelled.
    pub fn start(options: SchedulerOptions, shutdown: CancellationToken) -> SchedulerHandle {
        let (sender, receiver) = mpsc::unbounded_channel();
        let scheduler = Self {
            options,
            entries: BTreeMap::new(),
            running: HashMap::new(),
            foreign: HashMap::new(),
        };
        tokio::spawn(scheduler.run(receiver, shutdown));
        SchedulerHandle { sender }
    }

    async fn run(
        mut self,
        mut receiver: mpsc::UnboundedReceiver<Message>,
        stop: CancellationToken,
    ) {
        loop {
            while let Ok(message) = receiver.try_recv() {
                self.handle(message).await;
            }
            let wake = self.fire_due().await;
            // Nothing to wait for: only a message wakes the loop.
            let sleep = wake.map(|at| {
                let wait = at.duration_since(self.options.clock.now());
                std::time::Duration::try_from(wait).unwrap_or_default()
            });
            tokio::select! {
                () = stop.cancelled() => return,
                message = receiver.recv() => match message {
                    Some(message) => self.handle(message).await,
                    None => return,
                },
                () = tokio::time::sleep(sleep.unwrap_or_default()), if sleep.is_some() => {}
            }
        }
    }

    fn report(&self, message: String) {
        (self.options.report)(message);
    }

    async fn handle(&mut self, message: Message) {
        match message {
            Message::Flow(flow) => self.flow_loaded(flow).await,
            Message::Removed { namespace, flow_id } => {
                let keys: Vec<TriggerKey> = self
                    .entries
                    .keys()
                    .filter(|key| key.namespace == namespace && key.flow_id == flow_id)
                    .cloned()
                    .collect();
                for key in keys {
                    self.remove(&key, true).await;
                }
            }
            Message::Ended {
                execution_id,
                state,
            } => self.ended(&execution_id, state).await,
            Message::Triggers => self.reread().await,
        }
    }

    /// Stops evaluating a trigger; `forget` also deletes its state (a deleted flow or trigger).
    async fn remove(&mut self, key: &TriggerKey, forget: bool) {
        self.entries.remove(key);
        self.running.retain(|_, running| running != key);
        if forget && let Err(error) = self.options.triggers.delete(key).await {
            self.report(format!("cannot delete the state of trigger {key}: {error}"));
        }
    }

    async fn flow_loaded(&mut self, flow: Arc<Flow>) {
        let mut seen = Vec::new();
        for trigger in flow.triggers.iter().filter(|t| slots::is_schedule(t)) {
            let key = TriggerKey::new(&flow.namespace, &flow.id, &trigger.common.id);
            seen.push(key.clone());
            if flow.disabled || trigger.common.disabled {
                // Not evaluated, its state kept for when it is enabled again.
                self.remove(&key, false).await;
                continue;
            }
            let schedule = match Schedule::of(trigger) {
                Ok(Some(schedule)) => schedule,
                Ok(None) => continue,
                Err(error) => {
                    self.report(format!("flow {}.{}: {error}", flow.namespace, flow.id));
                    self.remove(&key, false).await;
                    continue;
                }
            };
            let definition = serde_json::to_value(trigger).unwrap_or_default();
            let previous = self.entries.remove(&key);
            let edited = previous
                .as_ref()
                .is_some_and(|entry| entry.definition != definition);
            let known = previous.is_some();
            let entry = Entry {
                flow: flow.clone(),
                trigger_id: trigger.common.id.clone(),
                schedule,
                definition,
                stop_after: trigger.common.stop_after.clone(),
                state: previous.and_then(|entry| entry.state),
            };
            self.entries.insert(key.clone(), entry);
            if !known {
                self.take_over(&key).await;
            } else if edited {
                // An edited trigger starts again from now, as Kestra does.
                let now = self.options.clock.now();
                let first = self.entries.get(&key).and_then(|e| e.schedule.first(now));
                self.change(&key, |state| {
                    state.date = now;
                    state.next_execution_date = first;
                    true
                })
                .await;
            }
        }
        // Triggers removed from the flow: their states go too.
        let gone: Vec<TriggerKey> = self
            .entries
            .keys()
            .filter(|key| key.namespace == flow.namespace && key.flow_id == flow.id)
            .filter(|key| !seen.contains(key))
            .cloned()
            .collect();
        for key in gone {
            self.remove(&key, true).await;
        }
    }

    /// A trigger this scheduler did not know: its stored state is read (created when absent),
    /// missed slots are handled as `recoverMissedSchedules` says, and a claim whose execution
    /// never started is started now.
    async fn take_over(&mut self, key: &TriggerKey) {
        let now = self.options.clock.now();
        let stored = match self.options.triggers.get(key).await {
            Ok(stored) => stored,
            Err(error) => {
                self.report(format!("cannot read the state of trigger {key}: {error}"));
                return;
            }
        };
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        let Some(stored) = stored else {
            let mut state = TriggerState::new(key.clone(), now);
            state.next_execution_date = entry.schedule.first(now);
            match self.options.triggers.put(state, None).await {
                Ok(Some(created)) => self.set_state(key, Some(created)),
                // Created meanwhile by someone else: read it.
                Ok(None) => self.refresh(key).await,
                Err(error) => self.report(format!("cannot create trigger {key}: {error}")),
            }
            return;
        };
        let recovered = entry
            .schedule
            .recovered(stored.next_execution_date, stored.date, now);
        self.set_state(key, Some(stored.clone()));
        if !stored.disabled && recovered != stored.next_execution_date {
            self.move_next(key, stored.revision, recovered).await;
        }
        if let Some(execution_id) = stored.execution_id.clone() {
            self.resume_claim(key, execution_id, stored.date).await;
        }
    }

    /// A claim found at start: its execution runs, ended, or was never started.
    async fn resume_claim(&mut self, key: &TriggerKey, execution_id: String, slot: Timestamp) {
        match self.options.launcher.state(&execution_id).await {
            Ok(Some(state)) if state.is_terminated() => {
                self.ended_for(key, &execution_id, state).await
            }
            Ok(Some(_)) => {
                self.running.insert(execution_id, key.clone());
            }
            Ok(None) => {
                self.running.insert(execution_id.clone(), key.clone());
                self.launch(key, execution_id, slot).await;
            }
            Err(error) => {
                // Looked up again later, whoever made the claim.
                let again = after_grace(self.options.clock.now());
                self.foreign
                    .insert(execution_id.clone(), (key.clone(), again));
                self.report(format!("trigger {key}: execution {execution_id}: {error}"));
            }
        }
    }

    fn set_state(&mut self, key: &TriggerKey, state: Option<TriggerState>) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.state = state;
        }
    }

    async fn refresh(&mut self, key: &TriggerKey) {
        match self.options.triggers.get(key).await {
            Ok(state) => self.set_state(key, state),
            Err(error) => self.report(format!("cannot read the state of trigger {key}: {error}")),
        }
    }

    /// Changes a stored state (reading it again when someone else changed it first).
    async fn change(
        &mut self,
        key: &TriggerKey,
        change: impl Fn(&mut TriggerState) -> bool + Send + Sync,
    ) {
        let now = self.options.clock.now();
        let updated = triggers::update(self.options.triggers.as_ref(), key, |state| {
            let changed = change(state);
            if changed {
                state.updated_date = now;
            }
            changed
        })
        .await;
        match updated {
            Ok(state) => self.set_state(key, state),
            Err(error) => self.report(format!("cannot update trigger {key}: {error}")),
        }
    }

    /// Sets the next slot of a trigger read at revision `read`, only if nobody changed its
    /// state since: another scheduler may have fired or moved it meanwhile.
    async fn move_next(&mut self, key: &TriggerKey, read: u64, next: Option<Timestamp>) {
        self.change(key, |stored| {
            let unchanged = stored.revision == read;
            if unchanged {
                stored.next_execution_date = next;
            }
            unchanged
        })
        .await;
    }

    /// Every stored state read again (after a change from outside the scheduler).
    async fn reread(&mut self) {
        let stored = match self.options.triggers.list(&TriggerQuery::default()).await {
            Ok(stored) => stored,
            Err(error) => {
                self.report(format!("cannot read the trigger states: {error}"));
                return;
            }
        };
        let mut by_key: HashMap<TriggerKey, TriggerState> = stored
            .into_iter()
            .map(|state| (state.key.clone(), state))
            .collect();
        let keys: Vec<TriggerKey> = self.entries.keys().cloned().collect();
        for key in keys {
            match by_key.remove(&key) {
                Some(state) => self.set_state(&key, Some(state)),
                // Removed from outside: start it again as a new trigger.
                None => self.take_over(&key).await,
            }
        }
    }

    /// An execution ended: its claim is released, whether this scheduler made it or another.
    async fn ended(&mut self, execution_id: &str, state: State) {
        let foreign = self.foreign.remove(execution_id).map(|(key, _)| key);
        let key = self
            .running
            .get(execution_id)
            .cloned()
            .or(foreign)
            .or_else(|| {
                self.entries
                    .iter()
                    .find(|(_, entry)| {
                        entry
                            .state
                            .as_ref()
                            .is_some_and(|s| s.execution_id.as_deref() == Some(execution_id))
                    })
                    .map(|(key, _)| key.clone())
            });
        if let Some(key) = key {
            self.ended_for(&key, execution_id, state).await;
        }
    }

    /// A claim this scheduler did not make (or lost track of): watched until its execution
    /// ends. Once [`CLAIM_GRACE`] has passed, the execution is looked up and started here if it
    /// does not exist (its scheduler died between the claim and the start). Returns when to
    /// look again, `None` once the claim is this scheduler's.
    async fn watch_claim(
        &mut self,
        key: &TriggerKey,
        execution_id: String,
        now: Timestamp,
    ) -> Option<Timestamp> {
        if self.running.contains_key(&execution_id) {
            return None;
        }
        let check = self
            .foreign
            .entry(execution_id.clone())
            .or_insert_with(|| (key.clone(), after_grace(now)))
            .1;
        if now < check {
            return Some(check);
        }
        self.foreign.remove(&execution_id);
        self.refresh(key).await;
        let slot = self
            .entries
            .get(key)
            .and_then(|entry| entry.state.as_ref())
            .filter(|state| state.execution_id.as_deref() == Some(execution_id.as_str()))
            .map(|state| state.date);
        if let Some(slot) = slot {
            self.resume_claim(key, execution_id, slot).await;
        }
        None
    }

    /// The trigger may fire again; `stopAfter` disables it when the end state is listed.
    async fn ended_for(&mut self, key: &TriggerKey, execution_id: &str, end: State) {
        self.running.remove(execution_id);
        let stop = self
            .entries
            .get(key)
            .is_some_and(|entry| entry.stop_after.contains(&end));
        self.change(key, |state| {
            if state.execution_id.as_deref() != Some(execution_id) {
                return false;
            }
            state.execution_id = None;
            if stop {
                state.disabled = true;
            }
            true
        })
        .await;
    }

    /// Fires every due slot; returns when the loop must wake next.
    async fn fire_due(&mut self) -> Option<Timestamp> {
        let mut wake: Option<Timestamp> = None;
        let keys: Vec<TriggerKey> = self.entries.keys().cloned().collect();
        for key in keys {
            if let Some(at) = self.evaluate(&key).await {
                wake = Some(wake.map_or(at, |wake| wake.min(at)));
            }
        }
        wake
    }

    /// Fires the trigger's slots that are due (one at a time: a slot waits for the execution of
    /// the previous one to end); returns the instant of its next slot, if it must wait for one.
    async fn evaluate(&mut self, key: &TriggerKey) -> Option<Timestamp> {
        // Bounded: each turn either fires, skips late slots or waits.
        for _ in 0..64 {
            let now = self.options.clock.now();
            let entry = self.entries.get(key)?;
            let state = entry.state.clone()?;
            if state.disabled {
                return None;
            }
            if let Some(execution_id) = state.execution_id {
                match self.watch_claim(key, execution_id.clone(), now).await {
                    Some(check) => return Some(check),
                    // Taken over: evaluated again over the state read back.
                    None if !self.running.contains_key(&execution_id) => continue,
                    None => return None,
                }
            }
            self.foreign.retain(|_, (claimed, _)| claimed != key);
            let Some(next) = state.next_execution_date else {
                // Enabled again: resumes from the last slot fired.
                let resumed = entry.schedule.resumed(state.date, now)?;
                self.move_next(key, state.revision, Some(resumed)).await;
                continue;
            };
            match entry.schedule.due(next, now) {
                Due::Wait(at) => return Some(at),
                Due::Never => return None,
                Due::Skip(to) => self.move_next(key, state.revision, Some(to)).await,
                Due::Fire(slot) => self.fire(key, state, slot).await,
            }
        }
        None
    }

    /// Claims `slot` (a conditional write on the revision read), then starts its execution.
    async fn fire(&mut self, key: &TriggerKey, read: TriggerState, slot: Timestamp) {
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        let now = self.options.clock.now();
        let execution_id = self.options.launcher.new_id();
        let claim = TriggerState {
            date: slot,
            next_execution_date: entry.schedule.next_after(slot),
            execution_id: Some(execution_id.clone()),
            updated_date: now,
            ..read.clone()
        };
        match self.options.triggers.put(claim, Some(read.revision)).await {
            Ok(Some(claimed)) => {
                self.set_state(key, Some(claimed));
                self.running.insert(execution_id.clone(), key.clone());
                self.launch(key, execution_id, slot).await;
            }
            // Another scheduler claimed it, or the state changed: read it again.
            Ok(None) => self.refresh(key).await,
            Err(error) => {
                self.report(format!(
                    "cannot claim slot {slot} of trigger {key}: {error}"
                ));
                // Not fired; tried again on the next wake.
                self.set_state(key, None);
                self.refresh(key).await;
            }
        }
    }

    /// Starts the execution of a claimed slot. When it cannot start (its conditions do not hold,
    /// or the flow refuses it), the claim is released so the next slot can fire.
    async fn launch(&mut self, key: &TriggerKey, execution_id: String, slot: Timestamp) {
        let Some(entry) = self.entries.get(key) else {
            return;
        };
        let firing = Firing {
            execution_id: execution_id.clone(),
            flow: entry.flow.clone(),
            trigger_id: entry.trigger_id.clone(),
            date: slot,
            variables: entry.schedule.variables(slot),
        };
        let started = self.options.launcher.start(firing).await;
        let release = match started {
            Ok(Started::Started) => false,
            Ok(Started::Skipped) => true,
            Err(error) => {
                self.report(format!(
                    "trigger {key}: cannot start the execution of slot {slot}: {error}"
                ));
                true
            }
        };
        if release {
            self.running.remove(&execution_id);
            self.change(key, |state| {
                let claimed = state.execution_id.as_deref() == Some(execution_id.as_str());
                if claimed {
                    state.execution_id = None;
                }
                claimed
            })
            .await;
        }
    }
}
