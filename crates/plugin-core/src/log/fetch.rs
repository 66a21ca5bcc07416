//! Fetch: copies the logs of an execution to an internal storage file.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, LogLevel, RunContext, TaskError, TaskOutput};
use peregrine_ports::repository::LogQuery;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Level;
use crate::runnable;

/// Fetches execution logs into a file; the current execution's by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FetchSpec {
    /// Namespace of the execution to fetch (with `flowId` and `executionId`).
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// The execution to fetch; the current one by default.
    pub execution_id: Option<String>,
    /// Only the logs of these task ids.
    pub tasks_id: Option<Property<Vec<String>>>,
    /// The minimum level of the logs fetched; INFO by default.
    pub level: Option<Property<Level>>,
}
runnable!(FetchSpec, "log.Fetch", "io.kestra.core.tasks.log.Fetch");

impl FetchSpec {
    fn rendered(context: &RunContext, value: Option<&String>) -> Result<Option<String>, TaskError> {
        value.map(|template| context.render(template)).transpose()
    }
}

/// Writes the log lines of an execution at `level` or above (of the `tasksId` tasks only, in that
/// order, when given) to a file of one JSON object per line (each line is also a valid Ion value,
/// the format Kestra writes), and outputs its `uri` and the number of lines as `size`.
///
/// As in Kestra, `namespace` and `flowId` default to the current flow's, and only the lines of
/// the execution in that flow are read.
impl peregrine_plugin_api::RunnableTask for FetchSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let run = &context.task_run;
            let execution_id = Self::rendered(context, self.execution_id.as_ref())?
                .unwrap_or_else(|| run.execution_id.clone());
            let namespace = Self::rendered(context, self.namespace.as_ref())?
                .unwrap_or_else(|| run.namespace.clone());
            let flow_id = Self::rendered(context, self.flow_id.as_ref())?
                .unwrap_or_else(|| run.flow_id.clone());
            let level: LogLevel = match &self.level {
                Some(level) => context.render_property("level", level)?,
                None => Level::Info,
            }
            .into();
            let tasks: Vec<Option<String>> = match &self.tasks_id {
                Some(tasks) => context
                    .render_property("tasksId", tasks)?
                    .into_iter()
                    .map(Some)
                    .collect(),
                None => vec![None],
            };
            let logs = &context.services().logs;
            let mut bytes = Vec::new();
            let mut size: u64 = 0;
            for task_id in tasks {
                let query = LogQuery {
                    execution_id: Some(execution_id.clone()),
                    task_id,
                    min_level: Some(level),
                    ..LogQuery::default()
                };
                for line in logs.find(&query).await? {
                    if line.namespace != namespace || line.flow_id != flow_id {
                        continue;
                    }
                    let json = serde_json::to_vec(&line)
                        .map_err(|error| TaskError::Failed(error.to_string()))?;
                    bytes.extend_from_slice(&json);
                    bytes.push(b'\n');
                    size += 1;
                }
            }
            let uri = context.storage().put_temp_file(bytes, ".ion").await?;
            let mut outputs = Map::new();
            outputs.insert("uri".into(), Value::String(uri));
            outputs.insert("size".into(), Value::from(size));
            Ok(TaskOutput::success(outputs))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use peregrine_model::expressions::Expressions;
    use peregrine_model::flow::Task;
    use peregrine_plugin_api::{LogEntry, LogSink, RunnableTask, TaskServices};
    use serde_json::json;

    use super::*;

    struct Pebble;

    impl Expressions for Pebble {
        fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
            let context = peregrine_expr::Context::new(variables);
            peregrine_expr::render_typed(template, &context).map_err(|error| error.to_string())
        }
    }

    struct NoLogs;

    impl LogSink for NoLogs {
        fn emit(&self, _entry: LogEntry) {}
    }

    fn line(execution: &str, task: &str, level: &str, message: &str) -> LogEntry {
        serde_json::from_value(json!({
            "namespace": "company.team", "flowId": "my_flow", "executionId": execution,
            "taskId": task, "timestamp": "2024-01-01T00:00:00Z", "level": level,
            "message": message,
        }))
        .expect("a log line")
    }

    async fn fetch(services: &TaskServices, properties: Value) -> Map<String, Value> {
        let mut task = json!({"id": "fetch", "type": "io.kestra.plugin.core.log.Fetch"});
        if let (Value::Object(task), Value::Object(properties)) = (&mut task, properties) {
            task.extend(properties);
        }
        let task: Task = serde_json::from_value(task).expect("a task");
        let task_run = serde_json::from_value(json!({
            "id": "run1", "executionId": "exec1", "namespace": "company.team",
            "flowId": "my_flow", "taskId": "fetch",
            "state": {"current": "RUNNING", "histories": []},
        }))
        .expect("a task run");
        let context = RunContext::new(
            task_run,
            task.clone(),
            json!({"execution": {"id": "exec1"}}),
            1,
            Arc::new(Pebble),
            Arc::new(NoLogs),
            services.clone(),
        );
        let spec: FetchSpec = task.spec().expect("a spec");
        spec.run(&context).await.expect("fetched").outputs
    }

    #[tokio::test]
    async fn fetches_lines_by_execution_task_and_level() {
        let services = TaskServices::in_memory();
        services
            .logs
            .append(vec![
                line("exec1", "a", "INFO", "one"),
                line("exec1", "b", "DEBUG", "two"),
                line("exec1", "b", "WARN", "three"),
                line("exec2", "a", "INFO", "other"),
            ])
            .await
            .expect("appended");

        let all = fetch(&services, json!({})).await;
        assert_eq!(all["size"], json!(2));
        let uri = all["uri"].as_str().expect("a uri");
        assert!(uri.contains("/executions/exec1/tasks/fetch/run1/"), "{uri}");
        assert!(uri.ends_with(".ion"), "{uri}");
        let path = peregrine_ports::storage::StoragePath::from_uri(uri).expect("a path");
        let text =
            String::from_utf8(services.storage.get(&path).await.expect("the file")).expect("text");
        let messages: Vec<String> = text
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).expect("one JSON object per line");
                value["message"].as_str().unwrap_or_default().to_string()
            })
            .collect();
        assert_eq!(messages, ["one", "three"]);

        let debug = fetch(&services, json!({"level": "DEBUG", "tasksId": ["b"]})).await;
        assert_eq!(debug["size"], json!(2));
        let other = fetch(&services, json!({"executionId": "{{ 'exec2' }}"})).await;
        assert_eq!(other["size"], json!(1));
        let elsewhere = fetch(
            &services,
            json!({"executionId": "exec2", "namespace": "other", "flowId": "f"}),
        )
        .await;
        assert_eq!(elsewhere["size"], json!(0));
    }
}
