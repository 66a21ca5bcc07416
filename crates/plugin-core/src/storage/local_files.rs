//! LocalFiles (deprecated, use WorkingDirectory's inputFiles/outputFiles).

use peregrine_model::Property;
use peregrine_plugin_api::glob::{Glob, matching_files};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// Deprecated: creates files in the working directory and uploads others to internal storage.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LocalFilesSpec {
    /// Files to create: a mapping of path to content, or an expression giving one.
    pub inputs: Option<Value>,
    /// Glob patterns of the files to upload to internal storage.
    pub outputs: Option<Property<Vec<String>>>,
}
runnable!(
    LocalFilesSpec,
    "storage.LocalFiles",
    "io.kestra.core.tasks.storages.LocalFiles"
);

impl peregrine_plugin_api::RunnableTask for LocalFilesSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            use peregrine_plugin_api::TaskError;
            let Some(folder) = context.working_dir().map(std::path::Path::to_path_buf) else {
                return Err(TaskError::Failed(
                    "LocalFiles works inside a WorkingDirectory task only".to_string(),
                ));
            };
            let inputs = match &self.inputs {
                None => serde_json::Map::new(),
                Some(value) => match context.render_value(value)? {
                    Value::Object(map) => map,
                    Value::String(json) => {
                        serde_json::from_str(&json).map_err(|_| TaskError::Property {
                            property: "inputs".into(),
                            message: format!("expected a mapping of path to content, got '{json}'"),
                        })?
                    }
                    other => {
                        return Err(TaskError::Property {
                            property: "inputs".into(),
                            message: format!("expected a mapping of path to content, got {other}"),
                        });
                    }
                },
            };
            let patterns: Vec<String> = match &self.outputs {
                Some(property) => context.render_property("outputs", property)?,
                None => Vec::new(),
            };
            let written = folder.clone();
            let matched =
                tokio::task::spawn_blocking(move || local_files(&written, &inputs, &patterns))
                    .await
                    .map_err(|error| TaskError::Failed(error.to_string()))??;
            let mut uris = serde_json::Map::new();
            for (name, bytes) in matched {
                let uri = context.storage().put_file(&name, bytes).await?;
                uris.insert(name, Value::String(uri));
            }
            let mut outputs = serde_json::Map::new();
            outputs.insert("uris".to_string(), Value::Object(uris));
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}

/// Writes the input files, then reads every file matching an output pattern (blocking).
fn local_files(
    folder: &std::path::Path,
    inputs: &serde_json::Map<String, Value>,
    patterns: &[String],
) -> Result<Vec<(String, Vec<u8>)>, peregrine_plugin_api::TaskError> {
    use peregrine_plugin_api::TaskError;
    let failed = |error: std::io::Error| TaskError::Failed(error.to_string());
    for (name, content) in inputs {
        let relative = std::path::Path::new(name);
        if !relative
            .components()
            .all(|part| matches!(part, std::path::Component::Normal(_)))
        {
            return Err(TaskError::Property {
                property: "inputs".into(),
                message: format!("'{name}' is not a relative path inside the working directory"),
            });
        }
        let file = folder.join(relative);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        let text = match content {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        std::fs::write(&file, text).map_err(failed)?;
    }
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let globs: Vec<Glob> = patterns
        .iter()
        .map(|pattern| Glob::new(pattern))
        .collect::<Result<_, _>>()
        .map_err(|error| TaskError::Property {
            property: "outputs".into(),
            message: error.to_string(),
        })?;
    let mut matched = Vec::new();
    for (name, path) in matching_files(folder, &globs).map_err(failed)? {
        matched.push((name, std::fs::read(&path).map_err(failed)?));
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn inputs_are_written_and_outputs_matched_by_glob() {
        let folder = std::env::temp_dir().join(format!("local-files-{}", std::process::id()));
        let inputs = json!({"in/a.txt": "A", "out/b.txt": "B", "out/deep/c.txt": "C"});
        let inputs = inputs.as_object().expect("a mapping");
        let matched = super::local_files(&folder, inputs, &["out/*".into()]);
        let _ = std::fs::remove_dir_all(&folder);
        let matched = matched.expect("files");
        assert_eq!(matched, [("out/b.txt".to_string(), b"B".to_vec())]);
    }
}
