//! Running one core task the way the worker does: a task definition, a task run of execution
//! `exec1` of `company.team.my_flow`, Pebble expressions, captured log lines.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use peregrine_model::expressions::Expressions;
use peregrine_model::flow::Task;
use peregrine_plugin_api::{
    LogEntry, LogSink, RunContext, RunnableTask, Runners, TaskError, TaskServices,
};
use serde_json::{Map, Value, json};

pub mod http_server;

pub struct Pebble;

impl Expressions for Pebble {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let context = peregrine_expr::Context::new(variables);
        peregrine_expr::render_typed(template, &context).map_err(|error| error.to_string())
    }
}

/// Keeps every log line a task writes.
#[derive(Default)]
pub struct Lines(pub Mutex<Vec<LogEntry>>);

impl LogSink for Lines {
    fn emit(&self, entry: LogEntry) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(entry);
        }
    }
}

impl Lines {
    pub fn messages(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|lines| lines.iter().map(|line| line.message.clone()).collect())
            .unwrap_or_default()
    }
}

/// The context of a task given as JSON (`type` under `io.kestra.plugin.core.`), with `inputs`.
pub fn context(
    services: &TaskServices,
    task: Value,
    inputs: Value,
    logs: Arc<Lines>,
) -> RunContext {
    let mut task = task;
    if let Some(type_name) = task.get("type").and_then(Value::as_str)
        && !type_name.starts_with("io.kestra.")
    {
        task["type"] = json!(format!("io.kestra.plugin.core.{type_name}"));
    }
    let task: Task = serde_json::from_value(task).expect("a task");
    let task_run = serde_json::from_value(json!({
        "id": "run1",
        "executionId": "exec1",
        "namespace": "company.team",
        "flowId": "my_flow",
        "taskId": task.common.id,
        "state": {"current": "RUNNING", "histories": []},
    }))
    .expect("a task run");
    let variables = json!({
        "flow": {"namespace": "company.team", "id": "my_flow"},
        "execution": {"id": "exec1"},
        "inputs": inputs,
    });
    RunContext::new(
        task_run,
        task,
        variables,
        1,
        Arc::new(Pebble),
        logs,
        services.clone(),
    )
}

/// Builds and runs the task of `context` with the core runners.
pub async fn run_in(context: &RunContext) -> Result<Map<String, Value>, TaskError> {
    let mut runners = Runners::default();
    peregrine_plugin_core::runners(&mut runners);
    let runnable: Box<dyn RunnableTask> = runners.build(&context.task)?;
    Ok(runnable.run(context).await?.outputs)
}

/// Runs a task given as JSON on `services`.
pub async fn run(services: &TaskServices, task: Value) -> Result<Map<String, Value>, TaskError> {
    run_in(&context(services, task, json!({}), Arc::default())).await
}
