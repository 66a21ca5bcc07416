//! Task runs: creating and starting them (a job for a worker, a frame for a flowable, a subflow,
//! a task the executor runs itself), sending them again, ending them without a worker.

use peregrine_model::execution::{Attempt, StateHistory, TaskRun};
use peregrine_model::state::State;
use peregrine_model::tasks::SubflowSpec;
use serde_json::{Map, Value};

use crate::effects::{Effect, SubflowEnded, TaskUpdate, TimerKind, WorkerJob};
use crate::executor_tasks;
use crate::expressions::is_truthy;
use crate::frames;
use crate::plan::{Flowable, NodeKind};
use crate::process::{Container, Step};
use crate::progress::Slot;
use crate::state::Item;
use crate::variables::task_variables;

impl Step<'_, '_> {
    /// Creates the task run of `item` in `slot` of its container, and starts it.
    pub(crate) fn create_run(&mut self, item: &Item, parent: Option<&str>, slot: Slot) {
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
        self.state.push(run, Some(slot));
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
            NodeKind::Runnable => self.send_job(run, node.task.clone(), variables),
            NodeKind::MergeBatchOutputs => {
                let task = self.merge_task(&run, &node.task);
                self.send_job(run, task, variables);
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
            NodeKind::Exit => self.run_exit(id, &node.task, &variables),
            NodeKind::Flowable(Flowable::Subflow(spec)) => {
                self.start_subflow(id, spec, &run, &variables)
            }
            NodeKind::Flowable(Flowable::SubflowPerBatch(spec)) => {
                self.start_batches(id, spec, &run, &variables)
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

    /// Sends a task run back to a worker (or starts its subflow again) for a new attempt.
    pub(crate) fn redispatch(&mut self, id: &str) {
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
        match &self.plan.node(node).kind {
            NodeKind::Exit => self.run_exit(id, task, &variables),
            NodeKind::Flowable(Flowable::Subflow(spec)) => {
                self.start_subflow(id, spec, &run, &variables)
            }
            NodeKind::Flowable(Flowable::SubflowPerBatch(spec)) => {
                self.start_batches(id, spec, &run, &variables)
            }
            NodeKind::MergeBatchOutputs => {
                let task = self.merge_task(&run, task);
                self.send_job(run, task, variables);
            }
            _ => self.send_job(run, task.clone(), variables),
        }
    }

    /// Sends a runnable task run to a worker.
    fn send_job(&mut self, run: TaskRun, task: peregrine_model::flow::Task, variables: Value) {
        let working_directory = self.shared_directory(&run);
        let variables = self.with_worker_task_run(variables, working_directory.as_ref());
        self.effects.push(Effect::RunTask(Box::new(WorkerJob {
            task_run: run,
            task,
            variables,
            working_directory,
            closes_directory: false,
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

    pub(crate) fn start_subflow(
        &mut self,
        id: &str,
        spec: &SubflowSpec,
        run: &TaskRun,
        variables: &Value,
    ) {
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

    pub(crate) fn subflow_ended(&mut self, ended: SubflowEnded) {
        let Some(run) = self.state.run(&ended.task_run_id).cloned() else {
            return;
        };
        let Some(node) = self.plan.find(&run.task_id) else {
            return;
        };
        let spec = match &self.plan.node(node).kind {
            NodeKind::Flowable(Flowable::Subflow(spec)) => spec,
            NodeKind::Flowable(Flowable::SubflowPerBatch(spec)) => {
                return self.batch_ended(&run, spec, &ended);
            }
            _ => return,
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

    pub(crate) fn fail_run(&mut self, id: &str, message: &str) {
        self.log_error(id, message);
        self.finish_now(id, State::Failed, None);
    }

    /// Ends a task run without a worker (skipped, or failed before it could start).
    pub(crate) fn finish_now(
        &mut self,
        id: &str,
        state: State,
        outputs: Option<Map<String, Value>>,
    ) {
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
}
