//! The decision function: apply one event to an execution, then settle every container (the flow
//! and each running flowable task) until nothing more can happen without the outside world.

use std::collections::VecDeque;

use jiff::Timestamp;
use peregrine_model::execution::{Attempt, StateHistory, TaskRun};
use peregrine_model::state::State;
use serde_json::{Map, Value};

use crate::effects::{
    Effect, EngineLog, Event, LogLevel, SubflowEnded, TaskUpdate, TimerKind, WorkerJob,
};
use crate::executor_tasks;
use crate::expressions::{Expressions, is_truthy};
use crate::frames;
use crate::plan::{FlowPlan, Flowable, NodeKind};
use crate::state::{ExecutionState, Frame, Item, Strategy};
use crate::variables::{Globals, execution_variables, task_variables};
use peregrine_model::flow::{SlaBehavior, SlaType};
use peregrine_model::tasks::SubflowSpec;

/// What the engine needs from the world: the time, fresh ids, expressions, configuration values.
pub struct Env<'a> {
    pub now: Timestamp,
    pub new_id: &'a mut dyn FnMut() -> String,
    pub expressions: &'a dyn Expressions,
    pub globals: &'a Globals,
}

/// What a LoopUntil does at the end of an iteration.
enum LoopStep {
    Continue,
    Done,
    Failed,
}

/// A container: the flow itself, or a running flowable task run.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Container {
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

struct Step<'a, 'b> {
    plan: &'a FlowPlan,
    state: &'a mut ExecutionState,
    env: &'a mut Env<'b>,
    effects: Vec<Effect>,
    work: VecDeque<Container>,
}

impl Step<'_, '_> {
    fn now(&self) -> Timestamp {
        self.env.now
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Start => {
                if self.state.execution.state.current == State::Created {
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
            Event::TaskUpdate(update) => self.apply_update(update),
            Event::Kill => self.kill(),
            Event::Timer(kind) => self.timer(kind),
            Event::Resume { inputs } => self.resume(inputs),
            Event::SubflowEnded(ended) => self.subflow_ended(ended),
            Event::Restart => self.restart(),
        }
    }

    fn apply_update(&mut self, update: TaskUpdate) {
        let now = self.now();
        let Some(run) = self.state.run(&update.task_run_id) else {
            return;
        };
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
        let index = update.attempt.max(1) as usize - 1;
        while run.attempts.len() <= index {
            run.attempts.push(Attempt {
                state: StateHistory::new(State::Running, now),
                worker_id: update.worker_id.clone(),
                log_file: None,
            });
        }
        if let Some(attempt) = run.attempts.get_mut(index) {
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

    fn kill(&mut self) {
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

    /// Sends a retrying task run to a worker again, for its next attempt.
    fn retry(&mut self, id: &str) {
        let Some(run) = self.state.run(id) else {
            return;
        };
        if run.state.current != State::Retrying
            || self.state.execution.state.current == State::Killing
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

    /// Sends a task run back to a worker (or starts its subflow again) for a new attempt.
    fn redispatch(&mut self, id: &str) {
        let now = self.now();
        let Some(run) = self.state.run(id) else {
            return;
        };
        let Some(node) = self.plan.find(&run.task_id) else {
            return;
        };
        if let Some(run) = self.state.run_mut(id) {
            run.state.set(State::Created, now);
        }
        let Some(run) = self.state.run(id).cloned() else {
            return;
        };
        let task = &self.plan.node(node).task;
        let variables = task_variables(
            self.plan,
            self.state,
            self.env.globals,
            &run,
            &task.common.type_name,
        );
        if let NodeKind::Flowable(Flowable::Subflow(spec)) = &self.plan.node(node).kind {
            return self.start_subflow(id, spec, &run, &variables);
        }
        let working_directory = self.shared_directory(&run);
        let variables = self.with_worker_task_run(variables, working_directory.as_ref());
        self.effects.push(Effect::RunTask(Box::new(WorkerJob {
            task_run: run,
            task: task.clone(),
            variables,
            working_directory,
        })));
    }

    /// Inside a WorkingDirectory, tasks also see `workerTaskrun`: the WorkingDirectory's task run.
    fn with_worker_task_run(
        &self,
        mut variables: Value,
        shared: Option<&crate::effects::SharedDirectory>,
    ) -> Value {
        if let (Some(shared), Some(object)) = (shared, variables.as_object_mut())
            && let Some(run) = self.state.run(&shared.key)
        {
            let start = run.state.start_date.map(crate::variables::java_instant);
            object.insert(
                    "workerTaskrun".into(),
                    serde_json::json!({ "id": run.id, "value": run.value, "parentId": run.parent_task_run_id, "startDate": start }),
                );
        }
        variables
    }

    /// The folder of the nearest enclosing WorkingDirectory, if the task run is inside one.
    fn shared_directory(&self, run: &TaskRun) -> Option<crate::effects::SharedDirectory> {
        let mut current = run.parent_task_run_id.as_deref();
        while let Some(parent) = current {
            if let Some(shared) = self
                .state
                .frames
                .get(parent)
                .and_then(|frame| frame.shared_directory.clone())
            {
                return Some(shared);
            }
            current = self
                .state
                .run(parent)
                .and_then(|run| run.parent_task_run_id.as_deref());
        }
        None
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

    /// Resolves containers until none has anything left to do.
    fn settle(&mut self) {
        while let Some(container) = self.work.pop_front() {
            self.resolve(&container);
        }
    }

    fn resolve(&mut self, container: &Container) {
        let (frame, parent_id, value) = match container {
            Container::Root => {
                if !matches!(
                    self.state.execution.state.current,
                    State::Running | State::Killing | State::Paused
                ) {
                    return;
                }
                (self.state.root.clone(), None, None)
            }
            Container::Run(id) => {
                let Some(run) = self.state.run(id) else {
                    return;
                };
                if !matches!(run.state.current, State::Running) {
                    return;
                }
                let Some(frame) = self.state.frames.get(id) else {
                    return;
                };
                (frame.clone(), Some(id.clone()), run.value.clone())
            }
        };
        let _ = value;
        let killing = self.state.execution.state.current == State::Killing;
        if frame
            .looping
            .as_ref()
            .is_some_and(|looping| looping.waiting)
            && !killing
        {
            return;
        }
        let parent = parent_id.as_deref();
        let (current, in_finally) = self.current_list(&frame, parent);
        if !killing {
            let strategy = if in_finally {
                Strategy::Sequential
            } else {
                frame.strategy
            };
            for item in self.nexts(&current, strategy, parent) {
                self.create_run(&item, parent);
            }
        }
        let children_done = self.children_terminated(&frame, parent);
        let list_done = current
            .iter()
            .all(|item| self.item_terminated(item, parent));
        let ended =
            children_done && (list_done && (in_finally || frame.finally.is_empty()) || killing);
        if !ended {
            if container == &Container::Root {
                self.refresh_paused();
            }
            return;
        }
        let mut state = self.final_state(&frame, parent);
        if killing {
            state = self.state.ending_as.unwrap_or(State::Killed);
        }
        if let (Container::Run(id), Some(looping)) = (container, &frame.looping)
            && !killing
            && !in_finally
            && !matches!(state, State::Failed | State::Killed)
        {
            match self.next_iteration(id, looping) {
                LoopStep::Continue => return,
                LoopStep::Done => {}
                LoopStep::Failed => state = State::Failed,
            }
        }
        match container {
            Container::Root => self.end_execution(state),
            Container::Run(id) => {
                if let Some(shared) = &frame.shared_directory {
                    self.effects.push(Effect::ReleaseDirectory {
                        key: shared.key.clone(),
                    });
                }
                let (allow_failure, allow_warning) = self.allow_flags(id);
                if state == State::Failed && (frame.allow_failure || allow_failure) {
                    state = State::Warning;
                }
                if state == State::Warning && allow_warning {
                    state = State::Success;
                }
                let now = self.now();
                let mut grand_parent = None;
                if let Some(run) = self.state.run_mut(id) {
                    run.state.set(state, now);
                    grand_parent = Some(run.parent_task_run_id.clone());
                }
                if let Some(grand_parent) = grand_parent {
                    self.work
                        .push_back(grand_parent.map_or(Container::Root, Container::Run));
                }
            }
        }
    }

    /// At the end of a LoopUntil iteration: stop when the condition holds or a limit is reached,
    /// otherwise schedule the next iteration after the interval.
    fn next_iteration(&mut self, id: &str, looping: &crate::state::Looping) -> LoopStep {
        let now = self.now();
        let Some(run) = self.state.run(id).cloned() else {
            return LoopStep::Done;
        };
        let type_name = self
            .plan
            .find(&run.task_id)
            .map(|node| self.plan.node(node).task.common.type_name.clone())
            .unwrap_or_default();
        let variables = task_variables(self.plan, self.state, self.env.globals, &run, &type_name);
        match frames::render_property(self.env.expressions, &looping.condition, &variables) {
            Ok(value) if is_truthy(&value) => return LoopStep::Done,
            Ok(_) => {}
            Err(message) => {
                self.log_error(id, &format!("condition: {message}"));
                return LoopStep::Failed;
            }
        }
        let elapsed = now.duration_since(looping.started);
        if looping.iteration >= looping.max_iterations || elapsed >= looping.max_duration {
            return if looping.fail_on_max {
                LoopStep::Failed
            } else {
                LoopStep::Done
            };
        }
        let iteration = looping.iteration + 1;
        if let Some(frame) = self.state.frame_mut(id) {
            for item in frame.items.iter_mut().chain(frame.errors.iter_mut()) {
                item.iteration = Some(iteration);
            }
            if let Some(looping) = frame.looping.as_mut() {
                looping.iteration = iteration;
                looping.waiting = true;
            }
        }
        if let Some(run) = self.state.run_mut(id) {
            let mut outputs = run.outputs.clone().unwrap_or_default();
            outputs.insert("iterationCount".into(), Value::from(iteration));
            run.outputs = Some(outputs);
        }
        if let Some(position) = self.state.position(id) {
            self.state.record_outputs(position);
        }
        let at = now.checked_add(looping.interval).unwrap_or(now);
        self.effects.push(Effect::SetTimer {
            at,
            kind: TimerKind::ContinueLoop {
                task_run_id: id.to_string(),
            },
        });
        LoopStep::Continue
    }

    fn log_error(&mut self, id: &str, message: &str) {
        let task_id = self.state.run(id).map(|run| run.task_id.clone());
        self.effects.push(Effect::Log(EngineLog {
            task_run_id: Some(id.to_string()),
            task_id,
            level: LogLevel::Error,
            message: message.to_string(),
        }));
    }

    fn allow_flags(&self, id: &str) -> (bool, bool) {
        self.state
            .run(id)
            .and_then(|run| self.plan.find(&run.task_id))
            .map_or((false, false), |node| {
                let common = &self.plan.node(node).task.common;
                (common.allow_failure, common.allow_warning)
            })
    }

    /// The list being run: the main items, or the errors once a main item failed; then finally.
    fn current_list(&self, frame: &Frame, parent: Option<&str>) -> (Vec<Item>, bool) {
        let errors_started = frame
            .errors
            .iter()
            .any(|item| self.find(item, parent).is_some());
        let failed = frame.items.iter().any(|item| {
            self.find(item, parent)
                .is_some_and(|run| run.state.current == State::Failed)
        });
        let list = if errors_started || failed {
            &frame.errors
        } else {
            &frame.items
        };
        let main_done = list.iter().all(|item| self.item_terminated(item, parent))
            && self.children_of_list_terminated(&frame.items, parent);
        if main_done && !frame.finally.is_empty() {
            return (frame.finally.clone(), true);
        }
        (list.clone(), false)
    }

    fn find(&self, item: &Item, parent: Option<&str>) -> Option<&TaskRun> {
        let task_id = &self.plan.node(item.node).task.common.id;
        self.state
            .find(parent, task_id, item.value.as_deref(), item.iteration)
    }

    fn item_terminated(&self, item: &Item, parent: Option<&str>) -> bool {
        self.find(item, parent)
            .is_some_and(|run| run.state.is_terminated())
    }

    fn children_of_list_terminated(&self, items: &[Item], parent: Option<&str>) -> bool {
        items.iter().all(|item| {
            self.find(item, parent)
                .is_none_or(|run| run.state.is_terminated())
        })
    }

    /// True when every child created in this container has ended.
    fn children_terminated(&self, frame: &Frame, parent: Option<&str>) -> bool {
        [&frame.items, &frame.errors, &frame.finally]
            .into_iter()
            .all(|items| self.children_of_list_terminated(items, parent))
    }

    fn nexts(&self, items: &[Item], strategy: Strategy, parent: Option<&str>) -> Vec<Item> {
        let mut nexts = Vec::new();
        match strategy {
            Strategy::Sequential => {
                for item in items {
                    match self.find(item, parent) {
                        None => {
                            nexts.push(item.clone());
                            break;
                        }
                        Some(run) if !run.state.is_terminated() => break,
                        Some(_) => {}
                    }
                }
            }
            Strategy::Parallel { limit } | Strategy::Dag { limit } => {
                let running = items
                    .iter()
                    .filter(|item| {
                        self.find(item, parent)
                            .is_some_and(|run| !run.state.is_terminated())
                    })
                    .count();
                let mut free = if limit == 0 {
                    usize::MAX
                } else {
                    (limit as usize).saturating_sub(running)
                };
                for item in items {
                    if free == 0 {
                        break;
                    }
                    if self.find(item, parent).is_some() {
                        continue;
                    }
                    if matches!(strategy, Strategy::Dag { .. })
                        && !self.dependencies_done(item, items, parent)
                    {
                        continue;
                    }
                    nexts.push(item.clone());
                    free -= 1;
                }
            }
            Strategy::Concurrent { limit } => {
                let mut groups: Vec<(Option<String>, Vec<Item>)> = Vec::new();
                for item in items {
                    match groups.last_mut() {
                        Some((value, group)) if *value == item.value => group.push(item.clone()),
                        _ => groups.push((item.value.clone(), vec![item.clone()])),
                    }
                }
                let started =
                    |group: &[Item]| group.iter().any(|item| self.find(item, parent).is_some());
                let done =
                    |group: &[Item]| group.iter().all(|item| self.item_terminated(item, parent));
                let active = groups
                    .iter()
                    .filter(|(_, group)| started(group) && !done(group))
                    .count();
                let mut free = if limit == 0 {
                    usize::MAX
                } else {
                    (limit as usize).saturating_sub(active)
                };
                for (_, group) in &groups {
                    if started(group) {
                        if !done(group) {
                            nexts.extend(self.nexts(group, Strategy::Sequential, parent));
                        }
                    } else if free > 0 {
                        free -= 1;
                        nexts.extend(self.nexts(group, Strategy::Sequential, parent));
                    }
                }
            }
        }
        nexts
    }

    fn dependencies_done(&self, item: &Item, items: &[Item], parent: Option<&str>) -> bool {
        item.depends_on.iter().all(|dependency| {
            items
                .iter()
                .find(|other| self.plan.node(other.node).task.common.id == *dependency)
                .is_some_and(|other| self.item_terminated(other, parent))
        })
    }

    /// Kestra's order of precedence over the children's states.
    fn final_state(&self, frame: &Frame, parent: Option<&str>) -> State {
        let mut seen = (false, false, false, false);
        for item in frame
            .items
            .iter()
            .chain(&frame.errors)
            .chain(&frame.finally)
        {
            if let Some(run) = self.find(item, parent) {
                match run.state.current {
                    State::Killed => seen.0 = true,
                    State::Failed => seen.1 = true,
                    State::Warning => seen.2 = true,
                    State::Paused => seen.3 = true,
                    _ => {}
                }
            }
        }
        match seen {
            (true, ..) => State::Killed,
            (_, true, ..) => State::Failed,
            (_, _, true, _) => State::Warning,
            (_, _, _, true) => State::Paused,
            _ => State::Success,
        }
    }

    /// The execution is PAUSED while a task run is paused and nothing else runs.
    fn refresh_paused(&mut self) {
        let now = self.now();
        let runs = &self.state.execution.task_run_list;
        let paused = runs.iter().any(|run| run.state.current == State::Paused);
        let busy = runs.iter().any(|run| {
            matches!(run.state.current, State::Created)
                || run.state.current == State::Running && !self.state.frames.contains_key(&run.id)
        });
        let current = self.state.execution.state.current;
        if paused && !busy && current == State::Running {
            self.state.execution.state.set(State::Paused, now);
        }
    }

    fn create_run(&mut self, item: &Item, parent: Option<&str>) {
        let node = self.plan.node(item.node);
        let now = self.now();
        let execution = &self.state.execution;
        let run = TaskRun {
            id: (self.env.new_id)(),
            execution_id: execution.id.clone(),
            namespace: execution.namespace.clone(),
            flow_id: execution.flow_id.clone(),
            task_id: node.task.common.id.clone(),
            parent_task_run_id: parent.map(str::to_string),
            value: item.value.clone(),
            iteration: item.iteration,
            attempts: Vec::new(),
            outputs: None,
            state: StateHistory::new(State::Created, now),
        };
        let id = run.id.clone();
        self.state.push(run);
        self.start_run(&id, item);
    }

    fn start_run(&mut self, id: &str, item: &Item) {
        let node = self.plan.node(item.node);
        let Some(run) = self.state.run(id).cloned() else {
            return;
        };
        let variables = task_variables(
            self.plan,
            self.state,
            self.env.globals,
            &run,
            &node.task.common.type_name,
        );
        if let Some(condition) = &node.task.common.run_if {
            match frames::render_property(self.env.expressions, condition, &variables) {
                Ok(value) if !is_truthy(&value) => {
                    return self.finish_now(id, State::Skipped, None);
                }
                Ok(_) => {}
                Err(message) => return self.fail_run(id, &format!("runIf: {message}")),
            }
        }
        match &node.kind {
            NodeKind::Runnable => {
                let working_directory = self.shared_directory(&run);
                let variables = self.with_worker_task_run(variables, working_directory.as_ref());
                let variables = self.with_worker_task_run(variables, working_directory.as_ref());
                self.effects.push(Effect::RunTask(Box::new(WorkerJob {
                    task_run: run,
                    task: node.task.clone(),
                    variables,
                    working_directory,
                })));
            }
            NodeKind::Labels => {
                match executor_tasks::apply_labels(
                    self.state,
                    &node.task,
                    &variables,
                    self.env.expressions,
                ) {
                    Ok(()) => self.finish_now(id, State::Success, None),
                    Err(message) => self.fail_run(id, &message),
                }
            }
            NodeKind::Flowable(Flowable::Subflow(spec)) => {
                self.start_subflow(id, spec, &run, &variables)
            }
            NodeKind::Flowable(flowable) => {
                match frames::build(
                    flowable,
                    &run,
                    &variables,
                    self.env.expressions,
                    self.env.now,
                ) {
                    Ok(built) => {
                        let now = self.now();
                        self.state.insert_frame(id.to_string(), built.frame);
                        if let Some(run) = self.state.run_mut(id)
                            && built.outputs.is_some()
                        {
                            run.outputs = built.outputs;
                            if let Some(position) = self.state.position(id) {
                                self.state.record_outputs(position);
                            }
                        }
                        if let Some(pause) = built.pause {
                            if let Some(run) = self.state.run_mut(id) {
                                run.state.set(State::Paused, now);
                            }
                            if let Some(delay) = pause.delay {
                                let at = now + delay;
                                self.effects.push(Effect::SetTimer {
                                    at,
                                    kind: TimerKind::ResumePause {
                                        task_run_id: id.to_string(),
                                    },
                                });
                            } else if let Some(timeout) = pause.timeout {
                                let at = now + timeout;
                                self.effects.push(Effect::SetTimer {
                                    at,
                                    kind: TimerKind::PauseTimeout {
                                        task_run_id: id.to_string(),
                                    },
                                });
                            }
                            let parent = run.parent_task_run_id.clone();
                            self.work
                                .push_back(parent.map_or(Container::Root, Container::Run));
                            return;
                        }
                        if let Some(run) = self.state.run_mut(id) {
                            run.state.set(State::Running, now);
                        }
                        self.work.push_back(Container::Run(id.to_string()));
                    }
                    Err(message) => self.fail_run(id, &message),
                }
            }
        }
    }

    fn start_subflow(&mut self, id: &str, spec: &SubflowSpec, run: &TaskRun, variables: &Value) {
        let now = self.now();
        let child_id = (self.env.new_id)();
        let start = match executor_tasks::subflow_start(
            self.state,
            spec,
            run,
            variables,
            self.env.expressions,
            child_id.clone(),
        ) {
            Ok(start) => start,
            Err(message) => return self.fail_run(id, &message),
        };
        let wait = start.wait;
        if let Some(run) = self.state.run_mut(id) {
            run.state.set(State::Running, now);
            run.attempts.push(Attempt {
                state: StateHistory::new(State::Running, now),
                worker_id: None,
                log_file: None,
            });
            let mut outputs = Map::new();
            outputs.insert("executionId".into(), Value::String(child_id));
            run.outputs = Some(outputs.clone());
            if !wait && let Some(attempt) = run.attempts.last_mut() {
                attempt.state.set(State::Success, now);
            }
        }
        self.effects.push(Effect::StartSubflow(Box::new(start)));
        if !wait {
            self.finish_now(id, State::Success, None);
        }
    }

    fn subflow_ended(&mut self, ended: SubflowEnded) {
        let Some(run) = self.state.run(&ended.task_run_id).cloned() else {
            return;
        };
        let Some(node) = self.plan.find(&run.task_id) else {
            return;
        };
        let NodeKind::Flowable(Flowable::Subflow(spec)) = &self.plan.node(node).kind else {
            return;
        };
        let variables = task_variables(
            self.plan,
            self.state,
            self.env.globals,
            &run,
            &self.plan.node(node).task.common.type_name,
        );
        let (state, outputs) =
            executor_tasks::subflow_result(spec, &ended, &variables, self.env.expressions);
        let attempt = u32::try_from(run.attempts.len().max(1)).unwrap_or(u32::MAX);
        self.apply_update(TaskUpdate {
            task_run_id: ended.task_run_id,
            attempt,
            state,
            outputs: Some(outputs),
            worker_id: None,
        });
    }

    fn fail_run(&mut self, id: &str, message: &str) {
        self.log_error(id, message);
        self.finish_now(id, State::Failed, None);
    }

    /// Ends a task run without a worker (skipped, or failed before it could start).
    fn finish_now(&mut self, id: &str, state: State, outputs: Option<Map<String, Value>>) {
        let now = self.now();
        let mut parent = None;
        if let Some(run) = self.state.run_mut(id) {
            run.state.set(state, now);
            if outputs.is_some() {
                run.outputs = outputs;
            }
            parent = Some(run.parent_task_run_id.clone());
        }
        if let Some(parent) = parent {
            self.work
                .push_back(parent.map_or(Container::Root, Container::Run));
        }
    }

    /// An SLA was not met: add its labels, then fail or cancel the execution if it says so.
    fn sla_violated(&mut self, index: usize) {
        let Some(sla) = self.plan.flow.sla.get(index) else {
            return;
        };
        self.sla_violated_labels(index);
        let ending = match sla.behavior {
            SlaBehavior::Fail => State::Failed,
            SlaBehavior::Cancel => State::Cancelled,
            SlaBehavior::None => return,
        };
        self.log_execution_error(&format!(
            "SLA '{}' violated: the execution ends {ending:?}",
            sla.id
        ));
        if self.state.execution.state.is_terminated() {
            return;
        }
        self.state.ending_as = Some(ending);
        self.kill();
    }

    /// EXECUTION_ASSERTION SLAs, checked when the execution ends; the state they impose, if any.
    fn check_assertions(&mut self) -> Option<State> {
        let mut imposed = None;
        for index in 0..self.plan.flow.sla.len() {
            let sla = &self.plan.flow.sla[index];
            let (SlaType::ExecutionAssertion, Some(assertion)) =
                (sla.sla_type, sla.assertion.as_ref())
            else {
                continue;
            };
            let variables =
                Value::Object(execution_variables(self.plan, self.state, self.env.globals));
            let holds = match self.env.expressions.render(assertion, &variables) {
                Ok(value) => is_truthy(&value),
                Err(message) => {
                    self.log_execution_error(&format!("SLA '{}': {message}", sla.id));
                    false
                }
            };
            if !holds {
                let behavior = sla.behavior;
                self.sla_violated_labels(index);
                match behavior {
                    SlaBehavior::Fail => imposed = Some(State::Failed),
                    SlaBehavior::Cancel => imposed = imposed.or(Some(State::Cancelled)),
                    SlaBehavior::None => {}
                }
            }
        }
        imposed
    }

    fn sla_violated_labels(&mut self, index: usize) {
        let Some(labels) = self
            .plan
            .flow
            .sla
            .get(index)
            .and_then(|sla| sla.labels.clone())
        else {
            return;
        };
        for label in labels.0 {
            executor_tasks::set_label(&mut self.state.execution.labels, label);
        }
    }

    fn log_execution_error(&mut self, message: &str) {
        self.effects.push(Effect::Log(EngineLog {
            task_run_id: None,
            task_id: None,
            level: LogLevel::Error,
            message: message.to_string(),
        }));
    }

    fn end_execution(&mut self, mut state: State) {
        let now = self.now();
        if let Some(imposed) = self.check_assertions() {
            state = imposed;
        }
        if state == State::Failed
            && let Some(at) = self.state.replay_at.take()
        {
            state = State::Retried;
            self.effects.push(Effect::ReplayExecution { at });
        }
        if !self.plan.flow.outputs.is_empty() && matches!(state, State::Success | State::Warning) {
            let variables =
                Value::Object(execution_variables(self.plan, self.state, self.env.globals));
            let mut outputs = Map::new();
            for output in &self.plan.flow.outputs {
                let rendered =
                    executor_tasks::render_tree(self.env.expressions, &output.value, &variables);
                match rendered {
                    Ok(value) => {
                        outputs.insert(output.id.clone(), value);
                    }
                    Err(message) => {
                        self.effects.push(Effect::Log(EngineLog {
                            task_run_id: None,
                            task_id: None,
                            level: LogLevel::Error,
                            message: format!("flow output '{}': {message}", output.id),
                        }));
                        state = State::Failed;
                    }
                }
            }
            if matches!(state, State::Success | State::Warning) {
                self.state.execution.outputs = Some(outputs);
            }
        }
        self.state.execution.state.set(state, now);
        self.effects.push(Effect::Ended(state));
    }
}
