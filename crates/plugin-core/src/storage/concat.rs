//! Concat: concatenates internal storage files into one.

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Map;
use serde_json::Value;

use crate::runnable;

/// Concatenates files of the internal storage into a new file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ConcatSpec {
    /// The files: a list of `kestra://` URIs, or an expression giving a JSON list.
    pub files: Value,
    /// Written between two files.
    pub separator: Option<String>,
    /// The extension of the new file; ".tmp" by default.
    pub extension: Option<String>,
}
runnable!(
    ConcatSpec,
    "storage.Concat",
    "io.kestra.core.tasks.storages.Concat"
);

impl RunnableTask for ConcatSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let files: Vec<String> = match &self.files {
                Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(template) => context.render(template),
                        other => Err(invalid_files(other)),
                    })
                    .collect::<Result<_, _>>()?,
                Value::String(template) => {
                    let rendered = context.render(template)?;
                    serde_json::from_str(&rendered).map_err(|error| TaskError::Property {
                        property: "files".into(),
                        message: format!("'{rendered}' is not a JSON list of URIs: {error}"),
                    })?
                }
                other => return Err(invalid_files(other)),
            };
            let separator = match &self.separator {
                Some(template) => Some(context.render(template)?),
                None => None,
            };
            let storage = context.storage();
            let mut content = Vec::new();
            for uri in &files {
                content.extend(storage.get_file(uri).await?);
                if let Some(separator) = &separator {
                    content.extend_from_slice(separator.as_bytes());
                }
            }
            let extension = match &self.extension {
                Some(template) => context.render(template)?,
                None => super::DEFAULT_EXTENSION.to_string(),
            };
            let uri = storage.put_temp_file(content, &extension).await?;
            let mut outputs = Map::new();
            outputs.insert("uri".into(), Value::String(uri));
            Ok(TaskOutput::success(outputs))
        })
    }
}

fn invalid_files(value: &Value) -> TaskError {
    TaskError::Property {
        property: "files".into(),
        message: format!("expected a list of URIs or an expression, got {value}"),
    }
}
