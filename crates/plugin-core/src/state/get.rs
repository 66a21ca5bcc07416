//! Get: reads a state file.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StateFile;
use crate::runnable;

/// Deprecated: reads a state file into the output `data`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateGetSpec {
    #[serde(flatten)]
    pub file: StateFile,
    /// Fail when the state does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(StateGetSpec, "state.Get", "io.kestra.core.tasks.states.Get");

impl RunnableTask for StateGetSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let state = self.file.locate(context)?;
            let error_on_missing = match &self.error_on_missing {
                Some(property) => context.render_property("errorOnMissing", property)?,
                None => false,
            };
            let data = match state.read(context).await? {
                Some(data) => data,
                None if error_on_missing => {
                    return Err(TaskError::Failed(format!("state {} not found", state.key)));
                }
                None => Map::new(),
            };
            let mut outputs = Map::new();
            outputs.insert("count".into(), Value::from(data.len()));
            outputs.insert("data".into(), Value::Object(data));
            Ok(TaskOutput::success(outputs))
        })
    }
}
