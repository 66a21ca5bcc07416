//! Delete: deletes a file of the internal storage.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Deletes one internal storage file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageDeleteSpec {
    /// The `kestra://` URI of the file.
    pub uri: String,
    /// Fail when the file does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(
    StorageDeleteSpec,
    "storage.Delete",
    "io.kestra.core.tasks.storages.Delete"
);

impl RunnableTask for StorageDeleteSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let uri = context.render(&self.uri)?;
            let error_on_missing = match &self.error_on_missing {
                Some(property) => context.render_property("errorOnMissing", property)?,
                None => false,
            };
            let deleted = context.storage().delete(&uri).await?;
            if !deleted && error_on_missing {
                return Err(TaskError::Failed(format!("unable to find file '{uri}'")));
            }
            let mut outputs = Map::new();
            outputs.insert("uri".into(), Value::String(uri));
            outputs.insert("deleted".into(), Value::Bool(deleted));
            Ok(TaskOutput::success(outputs))
        })
    }
}
