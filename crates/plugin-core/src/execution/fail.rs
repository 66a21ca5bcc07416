//! Fail: fails the execution, optionally only when a condition holds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Fails the task (and so the execution), when `condition` renders to true or always.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailSpec {
    /// A template; the task fails only when it renders to `true`.
    pub condition: Option<String>,
    /// The error message; "Task failure" by default.
    pub error_message: Option<String>,
}
runnable!(
    FailSpec,
    "execution.Fail",
    "io.kestra.core.tasks.executions.Fail"
);

impl peregrine_plugin_api::RunnableTask for FailSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            if let Some(condition) = &self.condition {
                let rendered = context.render(condition)?;
                let truthy = !matches!(
                    rendered.trim().to_ascii_lowercase().as_str(),
                    "" | "false" | "0" | "-0"
                );
                if !truthy {
                    return Ok(peregrine_plugin_api::TaskOutput::empty());
                }
            }
            let message = match &self.error_message {
                Some(message) => context.render(message)?,
                None => "Task failure".to_string(),
            };
            Err(peregrine_plugin_api::TaskError::Failed(message))
        })
    }
}
