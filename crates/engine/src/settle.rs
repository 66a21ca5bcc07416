//! Settling containers: after an event, each container touched (the flow, or a running flowable
//! task run) creates the task runs its strategy allows next, and ends once its lists are done.
//! Every decision reads the container's [`crate::progress::Progress`], never its whole list.

use peregrine_model::state::State;
use serde_json::Value;

use crate::effects::{Effect, TimerKind};
use crate::expressions::is_truthy;
use crate::frames;
use crate::process::{Container, LoopStep, Step};
use crate::progress::{ListKind, ListProgress, Progress, Slot};
use crate::state::{Frame, Item, Looping, Strategy};
use crate::variables::task_variables;

impl Step<'_, '_> {
    /// Resolves containers until none has anything left to do.
    pub(crate) fn settle(&mut self) {
        while let Some(container) = self.work.pop_front() {
            self.resolve(&container);
        }
    }

    fn frame_of(&self, container: Option<&str>) -> Option<&Frame> {
        match container {
            None => Some(&self.state.root),
            Some(id) => self.state.frames.get(id),
        }
    }

    fn resolve(&mut self, container: &Container) {
        // An ended execution (an Exit ended it while other task runs still ran) starts nothing.
        if self.state.execution.state.is_terminated() {
            return;
        }
        let parent = match container {
            Container::Root => {
                if !matches!(
                    self.state.execution.state.current,
                    State::Running | State::Killing | State::Paused
                ) {
                    return;
                }
                None
            }
            Container::Run(id) => {
                let running = self
                    .state
                    .run(id)
                    .is_some_and(|run| run.state.current == State::Running);
                if !running {
                    return;
                }
                Some(id.as_str())
            }
        };
        self.state.sync(self.plan);
        let killing = self.state.execution.state.current == State::Killing;
        let Some(frame) = self.frame_of(parent) else {
            return;
        };
        let waiting = frame
            .looping
            .as_ref()
            .is_some_and(|looping| looping.waiting);
        if waiting && !killing {
            return;
        }
        let (strategy, has_finally) = (frame.strategy, !frame.finally.is_empty());
        let Some(progress) = self.state.progress(parent) else {
            return;
        };
        let (list, in_finally) = current_list(progress, has_finally);
        if !killing {
            let strategy = if in_finally {
                Strategy::Sequential
            } else {
                strategy
            };
            let nexts = self.nexts(parent, list, strategy);
            for (index, item) in nexts {
                self.create_run(&item, parent, Slot { list, index });
                // An Exit may have ended the execution: nothing more starts or ends here.
                if self.state.execution.state.is_terminated() {
                    return;
                }
            }
            self.state.sync(self.plan);
        }
        let Some(progress) = self.state.progress(parent) else {
            return;
        };
        let children_done = progress.children_terminated();
        let list_done = progress.list(list).all_terminated();
        let ended = children_done && (list_done && (in_finally || !has_finally) || killing);
        if !ended {
            if container == &Container::Root {
                self.refresh_paused();
            }
            return;
        }
        let mut state = progress.final_state();
        if killing {
            state = self.state.ending_as.unwrap_or(State::Killed);
        }
        let Container::Run(id) = container else {
            return self.end_execution(state);
        };
        let Some(frame) = self.frame_of(parent) else {
            return;
        };
        let (allow_failure, looping) = (frame.allow_failure, frame.looping.clone());
        let shared = frame
            .shared_directory
            .as_ref()
            .map(|shared| shared.key.clone());
        if let Some(looping) = looping
            && !killing
            && !in_finally
            && !matches!(state, State::Failed | State::Killed)
        {
            match self.next_iteration(id, &looping) {
                LoopStep::Continue => return,
                LoopStep::Done => {}
                LoopStep::Failed => state = State::Failed,
            }
        }
        if !killing && self.awaits_closing(id, &mut state) {
            return;
        }
        if let Some(key) = shared {
            self.effects.push(Effect::ReleaseDirectory {
                key,
                namespace: self.state.execution.namespace.clone(),
                flow_id: self.state.execution.flow_id.clone(),
            });
        }
        let (task_allows_failure, allow_warning) = self.allow_flags(id);
        if state == State::Failed && (allow_failure || task_allows_failure) {
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

    /// The items of `list` to create now, with their index, as `strategy` allows.
    fn nexts(
        &mut self,
        container: Option<&str>,
        list: ListKind,
        strategy: Strategy,
    ) -> Vec<(usize, Item)> {
        let indices = match strategy {
            Strategy::Dag { limit } => self.dag_nexts(container, list, limit),
            Strategy::Sequential => self.group_nexts(container, list, 0),
            Strategy::Parallel { limit } | Strategy::Concurrent { limit } => {
                self.group_nexts(container, list, limit)
            }
        };
        let Some(frame) = self.frame_of(container) else {
            return Vec::new();
        };
        let items = list.items(frame);
        indices
            .into_iter()
            .filter_map(|index| items.get(index).map(|item| (index, item.clone())))
            .collect()
    }

    fn group_nexts(&mut self, container: Option<&str>, list: ListKind, limit: u32) -> Vec<usize> {
        self.state
            .progress_mut(container)
            .map(|progress| progress.list_mut(list).next_items(limit))
            .unwrap_or_default()
    }

    /// Dag: the items whose dependencies have ended, at most `limit` running. The list is the
    /// flow's own (its size does not grow with the data), so it is read whole.
    fn dag_nexts(&self, container: Option<&str>, list: ListKind, limit: u32) -> Vec<usize> {
        let (Some(frame), Some(progress)) =
            (self.frame_of(container), self.state.progress(container))
        else {
            return Vec::new();
        };
        let items = list.items(frame);
        let progress = progress.list(list);
        let mut free = if limit == 0 {
            usize::MAX
        } else {
            (limit as usize).saturating_sub(progress.running())
        };
        let mut nexts = Vec::new();
        for (index, item) in items.iter().enumerate() {
            if free == 0 {
                break;
            }
            if progress.run_at(index).is_some() || !self.dependencies_done(item, items, progress) {
                continue;
            }
            nexts.push(index);
            free -= 1;
        }
        nexts
    }

    fn dependencies_done(&self, item: &Item, items: &[Item], progress: &ListProgress) -> bool {
        item.depends_on.iter().all(|dependency| {
            items
                .iter()
                .position(|other| self.plan.node(other.node).task.common.id == *dependency)
                .and_then(|index| progress.run_at(index))
                .and_then(|position| self.state.run_at(position))
                .is_some_and(|run| run.state.is_terminated())
        })
    }

    /// The execution is PAUSED while a task run is paused and nothing else runs.
    fn refresh_paused(&mut self) {
        let now = self.now();
        let totals = self.state.totals();
        let busy = totals.created + totals.running_runnables > 0;
        let current = self.state.execution.state.current;
        if totals.paused > 0 && !busy && current == State::Running {
            self.state.execution.state.set(State::Paused, now);
        }
    }

    /// At the end of a LoopUntil iteration: stop when the condition holds or a limit is reached,
    /// otherwise schedule the next iteration after the interval.
    fn next_iteration(&mut self, id: &str, looping: &Looping) -> LoopStep {
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
        self.state.restart_container(id);
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
}

/// The list being run: the main items, or the errors once a main item failed; then finally.
fn current_list(progress: &Progress, has_finally: bool) -> (ListKind, bool) {
    let main = progress.list(ListKind::Main);
    let errors = progress.list(ListKind::Errors);
    let list = if errors.created() > 0 || main.has_failed() {
        ListKind::Errors
    } else {
        ListKind::Main
    };
    let main_done = progress.list(list).all_terminated() && main.created_terminated();
    if main_done && has_finally {
        (ListKind::Finally, true)
    } else {
        (list, false)
    }
}
