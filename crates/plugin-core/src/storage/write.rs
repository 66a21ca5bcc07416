//! Write: writes a string to a new internal storage file.

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Writes `content` to a new internal storage file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WriteSpec {
    /// The text to write.
    pub content: String,
    /// The extension of the file, e.g. ".json".
    pub extension: Option<String>,
}
runnable!(WriteSpec, "storage.Write");

impl RunnableTask for WriteSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let content = context.render(&self.content)?;
            let extension = match &self.extension {
                Some(template) => context.render(template)?,
                None => super::DEFAULT_EXTENSION.to_string(),
            };
            let uri = context
                .storage()
                .put_temp_file(content.into_bytes(), &extension)
                .await?;
            let mut outputs = Map::new();
            outputs.insert("uri".into(), Value::String(uri));
            Ok(TaskOutput::success(outputs))
        })
    }
}
