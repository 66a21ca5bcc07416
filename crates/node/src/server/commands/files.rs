//! Files sent for FILE inputs: each is stored under the execution
//! (`.../executions/{id}/inputs/{input}/{file}`) and the input then holds the file's
//! `kestra:///` URI, as Kestra does with uploads.

use peregrine_model::flow::Input;
use peregrine_ports::repository::{Error, InputFile};
use peregrine_ports::storage::{self, Storage, StorageContext, StoragePath};
use serde_json::{Map, Value};

/// The extension of a stored upload sent without a file name, unless the input sets one.
const DEFAULT_EXTENSION: &str = ".upl";

/// The files stored, and the value each input takes.
#[derive(Debug, Default)]
pub(super) struct Stored {
    pub inputs: Map<String, Value>,
    pub paths: Vec<StoragePath>,
}

/// Stores the files of declared inputs (files for inputs the flow does not declare are dropped,
/// as such inputs are). On failure, what was already stored is deleted.
pub(super) async fn store(
    storage: &dyn Storage,
    context: &StorageContext,
    declared: &[Input],
    files: Vec<InputFile>,
) -> Result<Stored, Error> {
    let mut stored = Stored::default();
    for file in files {
        let Some(input) = declared.iter().find(|input| input.id() == file.input) else {
            continue;
        };
        let result = put(storage, context, input, file).await;
        match result {
            Ok(path) => {
                stored
                    .inputs
                    .insert(input.id().to_string(), Value::String(path.uri()));
                stored.paths.push(path);
            }
            Err(error) => {
                discard(storage, &stored.paths).await;
                return Err(error);
            }
        }
    }
    Ok(stored)
}

/// Deletes stored files (of an execution that was not created, or not resumed).
pub(super) async fn discard(storage: &dyn Storage, paths: &[StoragePath]) {
    for path in paths {
        // Best effort: a file left behind is only garbage under an id nothing refers to.
        let _ = storage.delete(path).await;
    }
}

async fn put(
    storage: &dyn Storage,
    context: &StorageContext,
    input: &Input,
    file: InputFile,
) -> Result<StoragePath, Error> {
    let name = if file.file_name.is_empty() {
        format!("{}{}", file.input, extension(input))
    } else {
        file.file_name
    };
    let path = context
        .input_file(&file.input, &name)
        .map_err(|error| Error::Invalid(format!("input '{}': {error}", file.input)))?;
    storage
        .put(&path, file.bytes)
        .await
        .map_err(|error| match error {
            storage::Error::TooLarge { .. } | storage::Error::InvalidPath { .. } => {
                Error::Invalid(format!("input '{}': {error}", file.input))
            }
            other => Error::Backend(other.to_string()),
        })?;
    Ok(path)
}

/// The input's `extension` (with its leading dot), `.upl` by default.
fn extension(input: &Input) -> String {
    match input.options.get("extension").and_then(Value::as_str) {
        Some(extension) if extension.starts_with('.') => extension.to_string(),
        Some(extension) if !extension.is_empty() => format!(".{extension}"),
        _ => DEFAULT_EXTENSION.to_string(),
    }
}
