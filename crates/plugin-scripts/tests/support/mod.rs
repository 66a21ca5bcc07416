//! A RunContext for running script tasks in tests: a small `{{ path.to.value }}` renderer and a
//! log sink that keeps every line.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use peregrine_model::expressions::Expressions;
use peregrine_model::flow::Task;
use peregrine_plugin_api::{
    LogEntry, LogLevel, LogSink, RunContext, RunnableTask, Runners, TaskError, TaskOutput,
    TaskServices,
};
use serde_json::{Value, json};

/// Renders `{{ a.b }}` references to the variables; a lone reference keeps its type.
struct PathExpressions;

impl Expressions for PathExpressions {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let trimmed = template.trim();
        if let Some(inner) = trimmed
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            && !inner.contains("{{")
        {
            return lookup(variables, inner.trim()).cloned();
        }
        let mut output = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..]
                .find("}}")
                .map(|end| start + end)
                .ok_or_else(|| format!("unclosed tag in '{template}'"))?;
            output.push_str(&rest[..start]);
            match lookup(variables, rest[start + 2..end].trim())? {
                Value::String(text) => output.push_str(text),
                other => output.push_str(&other.to_string()),
            }
            rest = &rest[end + 2..];
        }
        output.push_str(rest);
        Ok(Value::String(output))
    }
}

fn lookup<'a>(variables: &'a Value, path: &str) -> Result<&'a Value, String> {
    path.split('.').try_fold(variables, |value, key| {
        value
            .get(key)
            .ok_or_else(|| format!("unknown variable '{path}'"))
    })
}

/// Keeps every log line.
#[derive(Default)]
pub struct Logs(Mutex<Vec<LogEntry>>);

impl LogSink for Logs {
    fn emit(&self, entry: LogEntry) {
        self.0.lock().expect("log lock").push(entry);
    }
}

impl Logs {
    pub fn lines(&self) -> Vec<(LogLevel, String)> {
        self.0
            .lock()
            .expect("log lock")
            .iter()
            .map(|entry| (entry.level, entry.message.clone()))
            .collect()
    }

    pub fn has(&self, level: LogLevel, text: &str) -> bool {
        self.lines()
            .iter()
            .any(|(entry_level, message)| *entry_level == level && message.contains(text))
    }

    /// Waits (up to 10 s) for an INFO line (what the script printed) containing `text`, and
    /// returns it (or every line so far).
    pub async fn wait_for(&self, text: &str) -> Result<String, Vec<(LogLevel, String)>> {
        for _ in 0..1000 {
            let found = self
                .lines()
                .into_iter()
                .find(|(level, line)| *level == LogLevel::Info && line.contains(text));
            if let Some((_, line)) = found {
                return Ok(line);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(self.lines())
    }
}

/// A context for the task described by `task` (its `id` and `type` plus its properties), with
/// in-memory storage.
pub fn context(task: Value, variables: Value) -> (RunContext, Arc<Logs>) {
    context_with(task, variables, TaskServices::in_memory())
}

/// A context on the given services (to share storage between tasks).
pub fn context_with(
    task: Value,
    variables: Value,
    services: TaskServices,
) -> (RunContext, Arc<Logs>) {
    let task: Task = serde_json::from_value(task).expect("a task");
    let task_run = serde_json::from_value(json!({
        "id": "run1",
        "executionId": "exec1",
        "namespace": "company.team",
        "flowId": "scripts",
        "taskId": task.common.id,
        "state": {"current": "RUNNING", "histories": []},
    }))
    .expect("a task run");
    let logs = Arc::new(Logs::default());
    let context = RunContext::new(
        task_run,
        task,
        variables,
        1,
        Arc::new(PathExpressions),
        logs.clone(),
        services,
    );
    (context, logs)
}

/// The script runners, as the node registers them.
pub fn build(context: &RunContext) -> Box<dyn RunnableTask> {
    let mut runners = Runners::default();
    peregrine_plugin_scripts::runners(&mut runners);
    runners
        .build(&context.task)
        .expect("a runnable script task")
}

/// Builds and runs the task described by `task`.
pub async fn run(task: Value, variables: Value) -> (Result<TaskOutput, TaskError>, Arc<Logs>) {
    run_with(task, variables, TaskServices::in_memory()).await
}

/// Builds and runs the task described by `task` on the given services.
pub async fn run_with(
    task: Value,
    variables: Value,
    services: TaskServices,
) -> (Result<TaskOutput, TaskError>, Arc<Logs>) {
    let (context, logs) = context_with(task, variables, services);
    let runnable = build(&context);
    let result = runnable.run(&context).await;
    (result, logs)
}

/// True while a process exists and is not a zombie (this machine's init does not reap orphans).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}
