//! Resume: resumes a paused execution.

use peregrine_model::Property;
use peregrine_plugin_api::{
    BoxFuture, ResumeRequest, RunContext, RunnableTask, TaskError, TaskOutput,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Resumes a paused execution; the current one by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumeSpec {
    /// With `flowId`, the namespace the execution must belong to (only with `executionId`).
    pub namespace: Option<String>,
    /// With `namespace`, the flow the execution must be of (only with `executionId`).
    pub flow_id: Option<String>,
    /// The execution to resume; the current one by default.
    pub execution_id: Option<String>,
    /// Values for the `onResume` inputs of the Pause task.
    pub inputs: Option<Property<Map<String, Value>>>,
}
runnable!(ResumeSpec, "execution.Resume");

impl ResumeSpec {
    /// The request the task makes, rendered; the same checks on `namespace` and `flowId` as
    /// Kestra's.
    fn request(&self, context: &RunContext) -> Result<ResumeRequest, TaskError> {
        let render = |template: &Option<String>| {
            template
                .as_deref()
                .map(|template| context.render(template))
                .transpose()
        };
        let namespace = render(&self.namespace)?;
        let flow_id = render(&self.flow_id)?;
        let execution_id = match &self.execution_id {
            Some(template) => {
                if namespace.is_some() != flow_id.is_some() {
                    return Err(TaskError::Failed(
                        "both `namespace` and `flowId` must be set when `executionId` is set"
                            .into(),
                    ));
                }
                context.render(template)?
            }
            None if namespace.is_some() || flow_id.is_some() => {
                return Err(TaskError::Failed(
                    "`namespace` and `flowId` should only be set when `executionId` is set".into(),
                ));
            }
            None => context.task_run.execution_id.clone(),
        };
        let inputs = match &self.inputs {
            Some(Property::Value(map)) => {
                match context.render_value(&Value::Object(map.clone()))? {
                    Value::Object(rendered) => Some(rendered),
                    _ => None,
                }
            }
            Some(property) => Some(context.render_property("inputs", property)?),
            None => None,
        };
        Ok(ResumeRequest {
            execution_id,
            namespace,
            flow_id,
            inputs,
        })
    }
}

impl RunnableTask for ResumeSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let request = self.request(context)?;
            context.services().control.resume(request).await?;
            Ok(TaskOutput::empty())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use peregrine_model::expressions::Expressions;
    use peregrine_model::flow::Task;
    use peregrine_plugin_api::{ControlError, ExecutionControl, LogEntry, LogSink, TaskServices};
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

    /// Records every request and accepts it.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<ResumeRequest>>);

    impl ExecutionControl for Recorder {
        fn resume(&self, request: ResumeRequest) -> BoxFuture<'_, Result<(), ControlError>> {
            if let Ok(mut requests) = self.0.lock() {
                requests.push(request);
            }
            Box::pin(async { Ok(()) })
        }
    }

    /// Runs a Resume task with `properties`; returns its result and the requests it made.
    async fn resume(properties: Value) -> (Result<TaskOutput, TaskError>, Vec<ResumeRequest>) {
        let mut task = json!({"id": "resume", "type": "io.kestra.plugin.core.execution.Resume"});
        if let (Value::Object(task), Value::Object(properties)) = (&mut task, properties) {
            task.extend(properties);
        }
        let task: Task = serde_json::from_value(task).expect("a task");
        let task_run = serde_json::from_value(json!({
            "id": "run1", "executionId": "current", "namespace": "company.team",
            "flowId": "my_flow", "taskId": "resume",
            "state": {"current": "RUNNING", "histories": []},
        }))
        .expect("a task run");
        let recorder = Arc::new(Recorder::default());
        let services = TaskServices {
            control: recorder.clone(),
            ..TaskServices::in_memory()
        };
        let context = RunContext::new(
            task_run,
            task.clone(),
            json!({"inputs": {"paused": "exec9", "answer": "yes"}}),
            1,
            Arc::new(Pebble),
            Arc::new(NoLogs),
            services,
        );
        let spec: ResumeSpec = task.spec().expect("a spec");
        let result = spec.run(&context).await;
        let requests = recorder.0.lock().map(|r| r.clone()).unwrap_or_default();
        (result, requests)
    }

    #[tokio::test]
    async fn resumes_the_rendered_execution_with_rendered_inputs() {
        let (result, requests) = resume(json!({
            "executionId": "{{ inputs.paused }}",
            "namespace": "company.team",
            "flowId": "paused_flow",
            "inputs": {"approved": "{{ inputs.answer }}"}
        }))
        .await;
        assert_eq!(result, Ok(TaskOutput::empty()));
        let expected = ResumeRequest {
            execution_id: "exec9".into(),
            namespace: Some("company.team".into()),
            flow_id: Some("paused_flow".into()),
            inputs: json!({"approved": "yes"}).as_object().cloned(),
        };
        assert_eq!(requests, [expected]);
    }

    #[tokio::test]
    async fn resumes_the_current_execution_by_default() {
        let (result, requests) = resume(json!({})).await;
        assert!(result.is_ok());
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].execution_id, "current");
        assert_eq!(requests[0].inputs, None);
    }

    #[tokio::test]
    async fn namespace_and_flow_id_go_together_and_need_an_execution_id() {
        let (half, requests) = resume(json!({"executionId": "e", "namespace": "n"})).await;
        assert!(matches!(half, Err(TaskError::Failed(_))), "{half:?}");
        assert!(requests.is_empty());
        let (alone, requests) = resume(json!({"namespace": "n", "flowId": "f"})).await;
        assert!(matches!(alone, Err(TaskError::Failed(_))), "{alone:?}");
        assert!(requests.is_empty());
    }

    #[tokio::test]
    async fn a_worker_without_control_refuses() {
        let refused = TaskServices::in_memory()
            .control
            .resume(ResumeRequest::default())
            .await;
        assert!(matches!(refused, Err(ControlError::Unavailable(_))));
    }
}
