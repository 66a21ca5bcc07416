//! The decision function: apply one event to an execution, then settle every container (the flow
//! and each running flowable task) until nothing more can happen without the outside world.

use std::collections::VecDeque;

use jiff::Timestamp;
use peregrine_model::execution::{Attempt, StateHistory, TaskRun};
use peregrine_model::state::State;
use serde_json::{Map, Value};

use crate::effects::{Effect, EngineLog, Event, LogLevel, TaskUpdate, TimerKind};
use crate::expressions::Expressions;
use crate::plan::FlowPlan;
use crate::state::ExecutionState;
use crate::variables::Globals;
use peregrine_model::flow::SlaType;

/// What the engine needs from the world: the time, fresh ids, expressions, configuration values.
pub struct Env<'a> {
    pub now: Timestamp,
    pub new_id: &'a mut dyn FnMut() -> String,
    pub expressions: &'a dyn Expressions,
    pub globals: &'a Globals,
}

/// What a LoopUntil does at the end of an iteration.
pub(crate) enum LoopStep {
    Continue,
    Done,
    Failed,
}

/// A container: the flow itself, or a running flowable task run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Container {
    Root,
    Run(String),
}

/// Applies `event` and returns the effects to carry out once the new state is committed.
pub fn process(
    plan: &FlowPlan,
    state: &mut ExecutionState,
    event: Event,
    env: &mut Env<'_>,
) -> Vec<Effect> {
    let mut step = Step {
        plan,
        state,
        env,
        effects: Vec::new(),
        work: VecDeque::new(),
    };
    step.apply(event);
    step.settle();
    step.effects
}

/// One call of [`process`]: what it reads, the state it changes, what it decided so far.
pub(crate) struct Step<'a, 'b> {
    pub(crate) plan: &'a FlowPlan,
    pub(crate) state: &'a mut ExecutionState,
    pub(crate) env: &'a mut Env<'b>,
    pub(crate) effects: Vec<Effect>,
    /// Containers to resolve.
    pub(crate) work: VecDeque<Container>,
}

impl Step<'_, '_> {
    pub(crate) fn now(&self) -> Timestamp {
        self.env.now
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Start => {
                // A QUEUED execution starts once its flow's concurrency limit lets it.
                if matches!(
                    self.state.execution.state.current,
                    State::Created | State::Queued
                ) {
                    let now = self.now();
                    self.state.execution.state.set(State::Running, now);
                    self.work.push_back(Container::Root);
                    for (index, sla) in self.plan.flow.sla.iter().enumerate() {
                        if let (SlaType::MaxDuration, Some(duration)) = (sla.sla_type, sla.duration)
                        {
                            let limit = jiff::SignedDuration::try_from(duration.as_std())
                                .unwrap_or(jiff::SignedDuration::MAX);
                            let at = now.checked_add(limit).unwrap_or(now);
                            self.effects.push(Effect::SetTimer {
                                at,
                                kind: TimerKind::SlaDeadline { index },
                            });
                        }
                    }
                }
            }
            Event::TaskUpdate(update) => {
                if !self.closing_reported(&update) {
                    self.apply_update(update);
                }
            }
            Event::Kill => self.kill(),
            Event::Timer(kind) => self.timer(kind),
            Event::Resume { inputs } => self.resume(inputs),
            Event::SubflowEnded(ended) => self.subflow_ended(ended),
            Event::Restart => self.restart(),
        }
    }

    pub(crate) fn apply_update(&mut self, update: TaskUpdate) {
        let now = self.now();
        let Some(run) = self.state.run(&update.task_run_id) else {
            return;
        };
        if update.state == State::Resubmitted {
            self.resubmitted(update, now);
            return;
        }
        if run.state.is_terminated()
            || run.state.current == State::Retrying
            || run.state.current == update.state && update.state != State::Running
        {
            // A late or repeated report: the task run has moved on already.
            return;
        }
        let node = self.plan.find(&run.task_id).map(|id| self.plan.node(id));
        let (allow_failure, allow_warning) = node.map_or((false, false), |node| {
            (
                node.task.common.allow_failure,
                node.task.common.allow_warning,
            )
        });
        let attempts = update.attempt.max(run.attempts.len() as u32);
        let policy = crate::retry::policy_for(self.plan, self.state, run);
        let retry_at = match (update.state, policy) {
            (State::Failed, Some(policy)) => crate::retry::next_attempt(policy, run, attempts, now),
            _ => None,
        };
        let mut replay_at = None;
        if let (State::Failed, Some(policy)) = (update.state, policy) {
            let metadata = &self.state.execution.metadata;
            let replay = crate::retry::next_execution(
                policy,
                run,
                metadata.attempt_number,
                metadata.original_created_date,
                now,
            );
            if replay.is_some() {
                replay_at = replay;
            }
        }
        let warning_on_retry = policy.is_some_and(|policy| policy.common.warning_on_retry);
        let mut final_state = update.state;
        if final_state == State::Success && warning_on_retry && attempts > 1 {
            final_state = State::Warning;
        }
        if final_state == State::Failed && allow_failure && retry_at.is_none() {
            final_state = State::Warning;
        }
        if final_state == State::Warning && allow_warning {
            final_state = State::Success;
        }
        let parent = run.parent_task_run_id.clone();
        if replay_at.is_some() {
            self.state.replay_at = replay_at;
        }
        let Some(run) = self.state.run_mut(&update.task_run_id) else {
            return;
        };
        if let Some(attempt) = reported_attempt(run, &update, now) {
            attempt.state.set(update.state, now);
        }
        if let Some(at) = retry_at {
            run.state.set(State::Retrying, now);
            let kind = TimerKind::RetryTask {
                task_run_id: update.task_run_id.clone(),
            };
            self.effects.push(Effect::SetTimer { at, kind });
            return;
        }
        run.state.set(
            if update.state.is_terminated() {
                final_state
            } else {
                update.state
            },
            now,
        );
        let terminated = run.state.is_terminated();
        if let Some(outputs) = update.outputs {
            run.outputs = Some(outputs);
        }
        if terminated {
            if let Some(position) = self.state.position(&update.task_run_id) {
                self.state.record_outputs(position);
            }
            self.work
                .push_back(parent.map_or(Container::Root, Container::Run));
        }
    }

    pub(crate) fn kill(&mut self) {
        let now = self.now();
        let current = self.state.execution.state.current;
        if current.is_terminated() || current == State::Killing {
            return;
        }
        self.state.execution.state.set(State::Killing, now);
        let to_kill: Vec<String> = self
            .state
            .execution
            .task_run_list
            .iter()
            .filter(|run| {
                matches!(
                    run.state.current,
                    State::Created | State::Paused | State::Retrying
                )
            })
            .map(|run| run.id.clone())
            .collect();
        for id in to_kill {
            if let Some(run) = self.state.run_mut(&id) {
                run.state.set(State::Killed, now);
            }
        }
        self.effects.push(Effect::KillTasks);
        self.work.push_back(Container::Root);
        let flowables: Vec<String> = self.state.frames.keys().cloned().collect();
        self.work.extend(flowables.into_iter().map(Container::Run));
    }

    fn timer(&mut self, kind: TimerKind) {
        let now = self.now();
        let (id, target) = match &kind {
            TimerKind::ResumePause { task_run_id } => (task_run_id.clone(), State::Running),
            TimerKind::PauseTimeout { task_run_id } => (task_run_id.clone(), State::Failed),
            TimerKind::RetryTask { task_run_id } => return self.retry(task_run_id),
            TimerKind::SlaDeadline { index } => {
                if !self.state.execution.state.is_terminated() {
                    self.sla_violated(*index);
                }
                return;
            }
            TimerKind::ContinueLoop { task_run_id } => {
                if let Some(looping) = self
                    .state
                    .frame_mut(task_run_id)
                    .and_then(|frame| frame.looping.as_mut())
                {
                    looping.waiting = false;
                }
                self.work.push_back(Container::Run(task_run_id.clone()));
                return;
            }
        };
        let Some(run) = self.state.run(&id) else {
            return;
        };
        if run.state.current != State::Paused {
            return;
        }
        self.resume_run(&id, target, now);
    }

    /// An attempt lost with its worker (which died or stopped holding it): recorded as
    /// RESUBMITTED while the next attempt runs; the task run itself stays where it is.
    fn resubmitted(&mut self, update: TaskUpdate, now: Timestamp) {
        let Some(run) = self.state.run_mut(&update.task_run_id) else {
            return;
        };
        if run.state.is_terminated() {
            return;
        }
        if let Some(attempt) = reported_attempt(run, &update, now)
            && !attempt.state.is_terminated()
        {
            attempt.state.set(State::Resubmitted, now);
        }
    }

    /// Sends a retrying task run to a worker again, for its next attempt.
    fn retry(&mut self, id: &str) {
        let Some(run) = self.state.run(id) else {
            return;
        };
        let execution = self.state.execution.state.current;
        if run.state.current != State::Retrying
            || execution == State::Killing
            || execution.is_terminated()
        {
            return;
        }
        self.redispatch(id);
    }

    /// Restarts an ended execution from its failed task runs, keeping its id: error-branch task
    /// runs are removed, failed runnables get a new attempt, their flowable parents run again.
    fn restart(&mut self) {
        let now = self.now();
        let current = self.state.execution.state.current;
        if !(current.is_terminated() || current == State::Paused) || current == State::Success {
            return;
        }
        let failed: Vec<TaskRun> = self
            .state
            .execution
            .task_run_list
            .iter()
            .filter(|run| matches!(run.state.current, State::Failed | State::Killed))
            .cloned()
            .collect();
        // Task runs started by an errors list of any container, and everything under them.
        let mut removed = std::collections::HashSet::new();
        for run in &self.state.execution.task_run_list {
            let frame = match &run.parent_task_run_id {
                Some(parent) => self.state.frames.get(parent),
                None => Some(&self.state.root),
            };
            let in_errors = frame.is_some_and(|frame| {
                frame
                    .errors
                    .iter()
                    .any(|item| self.plan.node(item.node).task.common.id == run.task_id)
            });
            let parent_removed = run
                .parent_task_run_id
                .as_ref()
                .is_some_and(|parent| removed.contains(parent));
            if in_errors || parent_removed {
                removed.insert(run.id.clone());
            }
        }
        let to_rerun: Vec<String> = failed
            .iter()
            .filter(|run| !removed.contains(&run.id) && !self.state.frames.contains_key(&run.id))
            .map(|run| run.id.clone())
            .collect();
        let mut to_resume = std::collections::HashSet::new();
        for run in failed.iter().filter(|run| !removed.contains(&run.id)) {
            let mut current = Some(run.clone());
            while let Some(run) = current {
                if self.state.frames.contains_key(&run.id) {
                    to_resume.insert(run.id.clone());
                }
                current = run
                    .parent_task_run_id
                    .as_deref()
                    .and_then(|parent| self.state.run(parent))
                    .cloned();
            }
        }
        self.state.remove_runs(&removed);
        self.state.execution.state.set(State::Restarted, now);
        self.state.execution.state.set(State::Running, now);
        self.state.execution.outputs = None;
        self.state.execution.metadata.attempt_number += 1;
        for id in &to_resume {
            if let Some(run) = self.state.run_mut(id) {
                run.state.set(State::Restarted, now);
                run.state.set(State::Running, now);
            }
        }
        for id in &to_rerun {
            if let Some(run) = self.state.run_mut(id) {
                run.state.set(State::Restarted, now);
            }
            self.redispatch(id);
        }
        if to_rerun.is_empty() {
            self.work.push_back(Container::Root);
            self.work.extend(to_resume.into_iter().map(Container::Run));
        }
    }

    fn resume(&mut self, inputs: Option<Map<String, Value>>) {
        let now = self.now();
        let paused: Vec<String> = self
            .state
            .execution
            .task_run_list
            .iter()
            .filter(|run| run.state.current == State::Paused)
            .map(|run| run.id.clone())
            .collect();
        for id in paused {
            if let Some(run) = self.state.run_mut(&id)
                && let Some(inputs) = &inputs
            {
                run.outputs = Some(inputs.clone());
            }
            self.resume_run(&id, State::Running, now);
        }
    }

    fn resume_run(&mut self, id: &str, target: State, now: Timestamp) {
        if let Some(run) = self.state.run_mut(id) {
            run.state.set(target, now);
        }
        if self.state.execution.state.current == State::Paused {
            self.state.execution.state.set(State::Running, now);
        }
        if let Some(position) = self.state.position(id) {
            self.state.record_outputs(position);
        }
        let parent = self
            .state
            .run(id)
            .and_then(|run| run.parent_task_run_id.clone());
        if target == State::Running {
            self.work.push_back(Container::Run(id.to_string()));
        } else {
            self.work
                .push_back(parent.map_or(Container::Root, Container::Run));
        }
    }

    pub(crate) fn log_error(&mut self, id: &str, message: &str) {
        let task_id = self.state.run(id).map(|run| run.task_id.clone());
        self.effects.push(Effect::Log(EngineLog {
            task_run_id: Some(id.to_string()),
            task_id,
            level: LogLevel::Error,
            message: message.to_string(),
        }));
    }

    pub(crate) fn allow_flags(&self, id: &str) -> (bool, bool) {
        self.state
            .run(id)
            .and_then(|run| self.plan.find(&run.task_id))
            .map_or((false, false), |node| {
                let common = &self.plan.node(node).task.common;
                (common.allow_failure, common.allow_warning)
            })
    }
}

/// The attempt a worker's report is about, created RUNNING (with the attempts before it) when
/// the task run does not have it yet.
fn reported_attempt<'a>(
    run: &'a mut TaskRun,
    update: &TaskUpdate,
    now: Timestamp,
) -> Option<&'a mut Attempt> {
    let index = update.attempt.max(1) as usize - 1;
    while run.attempts.len() <= index {
        run.attempts.push(Attempt {
            state: StateHistory::new(State::Running, now),
            worker_id: update.worker_id.clone(),
            log_file: None,
        });
    }
    run.attempts.get_mut(index)
}
