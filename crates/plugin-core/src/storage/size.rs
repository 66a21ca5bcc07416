//! Size: the size of an internal storage file.

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Returns the size in bytes of an internal storage file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SizeSpec {
    /// The `kestra://` URI of the file.
    pub uri: String,
}
runnable!(
    SizeSpec,
    "storage.Size",
    "io.kestra.core.tasks.storages.Size"
);

impl RunnableTask for SizeSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let uri = context.render(&self.uri)?;
            let size = context.storage().size(&uri).await?;
            let mut outputs = Map::new();
            outputs.insert("size".into(), Value::from(size));
            Ok(TaskOutput::success(outputs))
        })
    }
}
