//! What a task sees while it runs.

use std::sync::Arc;

use peregrine_model::Property;
use peregrine_model::execution::TaskRun;
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::Task;
use peregrine_model::state::State;
use peregrine_ports::storage::StorageContext;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::logs::{LogEntry, LogLevel, LogSink};
use crate::runners::Runners;
use crate::services::{NamespaceKv, TaskServices, TaskStorage};

/// Why a task did not produce outputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    #[error("{0}")]
    Failed(String),
    #[error("cannot render '{template}': {message}")]
    Render { template: String, message: String },
    #[error("invalid property '{property}': {message}")]
    Property { property: String, message: String },
    #[error("task type '{0}' cannot run on this worker")]
    Unsupported(String),
    #[error("killed")]
    Killed,
}

/// A task's result: its final state (usually SUCCESS) and outputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskOutput {
    pub state: Option<State>,
    pub outputs: Map<String, Value>,
}

impl TaskOutput {
    pub fn success(outputs: Map<String, Value>) -> Self {
        Self {
            state: None,
            outputs,
        }
    }

    pub fn empty() -> Self {
        Self::default()
    }
}

/// The narrow view of the world a task gets.
pub struct RunContext {
    pub task_run: TaskRun,
    pub task: Task,
    pub variables: Value,
    pub attempt: u32,
    pub cancel: CancellationToken,
    expressions: Arc<dyn Expressions>,
    logs: Arc<dyn LogSink>,
    services: TaskServices,
    working_dir: Option<std::path::PathBuf>,
    runners: Option<Arc<Runners>>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("task_run", &self.task_run.id)
            .finish()
    }
}

impl RunContext {
    pub fn new(
        task_run: TaskRun,
        task: Task,
        variables: Value,
        attempt: u32,
        expressions: Arc<dyn Expressions>,
        logs: Arc<dyn LogSink>,
        services: TaskServices,
    ) -> Self {
        Self {
            task_run,
            task,
            variables,
            attempt,
            cancel: CancellationToken::new(),
            expressions,
            logs,
            services,
            working_dir: None,
            runners: None,
        }
    }

    /// Runs the task in `path`, the folder shared by the tasks of a WorkingDirectory.
    pub fn with_working_dir(mut self, path: std::path::PathBuf) -> Self {
        self.working_dir = Some(path);
        self
    }

    /// Gives the task the runnable types of its worker, for tasks that run another task
    /// (`templating.TemplatedTask`).
    pub fn with_runners(mut self, runners: Arc<Runners>) -> Self {
        self.runners = Some(runners);
        self
    }

    /// The runnable types of the worker running this task, when it handed them over.
    pub fn runners(&self) -> Option<&Runners> {
        self.runners.as_deref()
    }

    /// The folder shared with the other tasks of the enclosing WorkingDirectory, if any.
    pub fn working_dir(&self) -> Option<&std::path::Path> {
        self.working_dir.as_deref()
    }

    /// The worker's services (storage, key-value store, secrets).
    pub fn services(&self) -> &TaskServices {
        &self.services
    }

    /// Internal storage, scoped to this task run for writes.
    pub fn storage(&self) -> TaskStorage<'_> {
        TaskStorage::new(
            self.services.storage.as_ref(),
            StorageContext::new(
                &self.task_run.namespace,
                &self.task_run.flow_id,
                &self.task_run.execution_id,
            ),
            &self.task_run.task_id,
            &self.task_run.id,
        )
    }

    /// The key-value store of `namespace`.
    pub fn kv(&self, namespace: &str) -> NamespaceKv<'_> {
        NamespaceKv::new(self.services.kv.as_ref(), namespace.to_string())
    }

    /// The secret `key` as seen from the flow's namespace; an error when there is none.
    pub async fn secret(&self, key: &str) -> Result<String, TaskError> {
        self.services
            .secrets
            .get(&self.task_run.namespace, key)
            .await?
            .ok_or_else(|| TaskError::Failed(format!("cannot find secret for key '{key}'")))
    }

    /// Renders a template to text.
    pub fn render(&self, template: &str) -> Result<String, TaskError> {
        self.expressions
            .render_string(template, &self.variables)
            .map_err(|message| TaskError::Render {
                template: template.to_string(),
                message,
            })
    }

    /// Renders a template to text with `extra` variables over the execution's (a task's own
    /// variables, such as `count` for `execution.Count`).
    pub fn render_with(
        &self,
        template: &str,
        extra: &Map<String, Value>,
    ) -> Result<String, TaskError> {
        let mut variables = self.variables.clone();
        if let Value::Object(map) = &mut variables {
            map.extend(
                extra
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
        }
        self.expressions
            .render_string(template, &variables)
            .map_err(|message| TaskError::Render {
                template: template.to_string(),
                message,
            })
    }

    /// Renders every string inside a value (maps, lists, keys too) to text, as Kestra renders
    /// maps: `"{{ 1 + 1 }}"` becomes `"2"`.
    pub fn render_value(&self, value: &Value) -> Result<Value, TaskError> {
        Ok(match value {
            Value::String(template) if template.contains("{{") || template.contains("{%") => {
                Value::String(self.render(template)?)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.render_value(item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut rendered = Map::new();
                for (key, item) in map {
                    rendered.insert(self.render(key)?, self.render_value(item)?);
                }
                Value::Object(rendered)
            }
            other => other.clone(),
        })
    }

    /// Renders a typed property and converts it to its type (numbers from text, as Kestra does).
    pub fn render_property<T: DeserializeOwned + Clone>(
        &self,
        name: &str,
        property: &Property<T>,
    ) -> Result<T, TaskError> {
        match property {
            Property::Value(value) => Ok(value.clone()),
            Property::Expression(template) => {
                let rendered =
                    self.expressions
                        .render(template, &self.variables)
                        .map_err(|message| TaskError::Render {
                            template: template.clone(),
                            message,
                        })?;
                let value = match rendered {
                    Value::String(text) => {
                        serde_json::from_str(text.trim()).unwrap_or(Value::String(text))
                    }
                    other => other,
                };
                serde_json::from_value(value).map_err(|error| TaskError::Property {
                    property: name.to_string(),
                    message: error.to_string(),
                })
            }
        }
    }

    /// Reads the task's own properties into its spec.
    pub fn spec<S: DeserializeOwned>(&self) -> Result<S, TaskError> {
        self.task.spec().map_err(|error| TaskError::Property {
            property: self.task.common.id.clone(),
            message: error.to_string(),
        })
    }

    /// Writes a line to the execution logs.
    pub fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.logs.emit(LogEntry {
            namespace: self.task_run.namespace.clone(),
            flow_id: self.task_run.flow_id.clone(),
            execution_id: self.task_run.execution_id.clone(),
            task_id: Some(self.task_run.task_id.clone()),
            task_run_id: Some(self.task_run.id.clone()),
            attempt_number: Some(self.attempt),
            timestamp: jiff::Timestamp::now(),
            level,
            message: message.into(),
        });
    }
}
