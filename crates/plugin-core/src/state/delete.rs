//! Delete: removes a state file.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StateFile;
use crate::runnable;

/// Deprecated: deletes a state file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateDeleteSpec {
    #[serde(flatten)]
    pub file: StateFile,
    /// Fail when the state does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(
    StateDeleteSpec,
    "state.Delete",
    "io.kestra.core.tasks.states.Delete"
);

impl RunnableTask for StateDeleteSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let state = self.file.locate(context)?;
            let error_on_missing = match &self.error_on_missing {
                Some(property) => context.render_property("errorOnMissing", property)?,
                None => false,
            };
            let deleted = state.delete(context).await?;
            if !deleted && error_on_missing {
                return Err(TaskError::Failed(format!(
                    "unable to find the state file '{}'",
                    state.name
                )));
            }
            let mut outputs = Map::new();
            outputs.insert("deleted".into(), Value::Bool(deleted));
            Ok(TaskOutput::success(outputs))
        })
    }
}
