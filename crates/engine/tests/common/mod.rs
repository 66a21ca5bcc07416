//! Drives the engine alone: a flow given as JSON, a clock that ticks one millisecond per step,
//! counted ids, an expression stub that reads `{{ a.b.c }}` paths, and a worker played by the
//! test (each job answered with the state the test picks).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;

use peregrine_engine::variables::Globals;
use peregrine_engine::{
    Effect, Env, Event, ExecutionState, FlowPlan, NewExecution, TaskUpdate, WorkerJob,
    new_execution, process,
};
use peregrine_model::expressions::Expressions;
use peregrine_model::state::State;
use peregrine_model::{Flow, Role};
use serde_json::{Map, Value};

/// Renders `{{ path.to.value }}` by looking the path up; any other template is returned as is.
pub struct PathLookup;

impl Expressions for PathLookup {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let Some(path) = template
            .trim()
            .strip_prefix("{{")
            .and_then(|rest| rest.strip_suffix("}}"))
        else {
            return Ok(Value::String(template.to_string()));
        };
        let mut current = variables;
        for key in path.trim().split('.') {
            current = current
                .get(key)
                .ok_or_else(|| format!("'{}' is not defined", path.trim()))?;
        }
        Ok(current.clone())
    }
}

/// Core flowable types are flowable; anything else is a runnable task.
fn role_of(type_name: &str) -> Role {
    let flowable = [
        "Sequential",
        "Parallel",
        "ForEach",
        "EachSequential",
        "EachParallel",
        "Dag",
        "If",
        "Switch",
        "AllowFailure",
        "Pause",
        "LoopUntil",
        "WorkingDirectory",
        "Subflow",
        "ForEachItem",
    ];
    let short = type_name.rsplit('.').next().unwrap_or(type_name);
    if type_name.starts_with("io.kestra.plugin.core.flow.") && flowable.contains(&short) {
        Role::Flowable
    } else {
        Role::Runnable
    }
}

pub struct Harness {
    pub plan: FlowPlan,
    pub state: ExecutionState,
    pub millis: i64,
    next_id: u64,
    /// Jobs sent to the worker and not answered yet, oldest first.
    pub jobs: VecDeque<WorkerJob>,
    /// Every effect other than a job, in order.
    pub effects: Vec<Effect>,
}

impl Harness {
    pub fn new(flow: Value) -> Self {
        let flow: Flow = serde_json::from_value(flow).expect("a flow document");
        let plan = FlowPlan::new(Arc::new(flow), &role_of).expect("a plan");
        let new = NewExecution {
            id: "execution".into(),
            ..NewExecution::default()
        };
        let state = new_execution(&plan, new, jiff::Timestamp::UNIX_EPOCH);
        Self {
            plan,
            state,
            millis: 0,
            next_id: 0,
            jobs: VecDeque::new(),
            effects: Vec::new(),
        }
    }

    pub fn send(&mut self, event: Event) {
        self.millis += 1;
        let now = jiff::Timestamp::from_millisecond(self.millis).expect("a valid time");
        let mut counter = self.next_id;
        let mut new_id = || {
            counter += 1;
            format!("run{counter}")
        };
        let globals = Globals::default();
        let mut env = Env {
            now,
            new_id: &mut new_id,
            expressions: &PathLookup,
            globals: &globals,
        };
        let effects = process(&self.plan, &mut self.state, event, &mut env);
        self.next_id = counter;
        for effect in effects {
            match effect {
                Effect::RunTask(job) => self.jobs.push_back(*job),
                other => self.effects.push(other),
            }
        }
    }

    /// Reports the end of a job's task run.
    pub fn answer(&mut self, job: &WorkerJob, state: State, outputs: Option<Map<String, Value>>) {
        self.send(Event::TaskUpdate(TaskUpdate {
            task_run_id: job.task_run.id.clone(),
            attempt: 1,
            state,
            outputs,
            worker_id: None,
        }));
    }

    /// Starts the execution and answers every job, oldest first, with `answer(task id, value)`,
    /// until no job is left. Returns the task runs started, as `task` or `task(value)`.
    pub fn run(&mut self, answer: impl Fn(&str, Option<&str>) -> State) -> Vec<String> {
        self.send(Event::Start);
        let mut started = Vec::new();
        while let Some(job) = self.jobs.pop_front() {
            let run = &job.task_run;
            started.push(match &run.value {
                Some(value) => format!("{}({value})", run.task_id),
                None => run.task_id.clone(),
            });
            let state = answer(&run.task_id, run.value.as_deref());
            self.answer(&job, state, None);
        }
        started
    }

    pub fn execution_state(&self) -> State {
        self.state.execution.state.current
    }

    /// The state of the last task run of `task_id` (for `value`).
    pub fn task_state(&self, task_id: &str, value: Option<&str>) -> Option<State> {
        self.state
            .execution
            .task_run_list
            .iter()
            .rev()
            .find(|run| run.task_id == task_id && run.value.as_deref() == value)
            .map(|run| run.state.current)
    }
}

/// A runnable task of the test worker.
pub fn work(id: &str) -> Value {
    serde_json::json!({ "id": id, "type": "test.Work" })
}
