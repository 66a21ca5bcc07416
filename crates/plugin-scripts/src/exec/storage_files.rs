//! Internal storage files in and out of the working directory: `kestra:///` input files and URIs
//! in commands are downloaded before the run; output files are uploaded after it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use peregrine_plugin_api::{RunContext, TaskError};
use regex::Regex;
use serde_json::{Map, Value};

use super::workdir::{io_error, unique_name};

/// Kestra's `ScriptService.INTERNAL_STORAGE_PATTERN`.
static STORAGE_URI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"kestra://[-a-zA-Z0-9%._+~#=/]*").expect("a constant, valid pattern")
});

/// The contents of the input files: text as rendered, or the bytes of a `kestra://` file.
pub(crate) async fn input_file_contents(
    context: &RunContext,
    files: Vec<(String, String)>,
) -> Result<Vec<(String, Vec<u8>)>, TaskError> {
    let mut contents = Vec::with_capacity(files.len());
    for (name, content) in files {
        let bytes = if content.starts_with("kestra://") {
            context.storage().get_file(&content).await?
        } else {
            content.into_bytes()
        };
        contents.push((name, bytes));
    }
    Ok(contents)
}

/// Replaces each `kestra://` URI in `texts` by the absolute path of a local copy in the working
/// directory (Kestra's `replaceInternalStorage`); returns the copies to write, as (file name,
/// bytes).
pub(crate) async fn localize_storage_uris(
    context: &RunContext,
    working_dir: &Path,
    texts: &mut [String],
) -> Result<Vec<(String, Vec<u8>)>, TaskError> {
    let pattern = &*STORAGE_URI;
    let mut copies: BTreeMap<String, String> = BTreeMap::new();
    let mut files = Vec::new();
    for text in texts.iter() {
        for found in pattern.find_iter(text) {
            let uri = found.as_str();
            if copies.contains_key(uri) {
                continue;
            }
            let bytes = context.storage().get_file(uri).await?;
            let base = uri.rsplit('/').next().unwrap_or_default();
            let name = format!("{}-{base}", unique_name());
            copies.insert(
                uri.to_string(),
                working_dir.join(&name).display().to_string(),
            );
            files.push((name, bytes));
        }
    }
    if !copies.is_empty() {
        for text in texts.iter_mut() {
            *text = pattern
                .replace_all(text, |found: &regex::Captures<'_>| {
                    copies.get(&found[0]).cloned().unwrap_or_default()
                })
                .into_owned();
        }
    }
    Ok(files)
}

/// An output file: its output name, where it is, and its name in the task run's storage folder.
pub(crate) struct OutputFile {
    pub key: String,
    pub path: PathBuf,
    pub storage_name: String,
}

impl OutputFile {
    /// A file found by an `outputFiles` pattern, stored under a unique name ending with its own
    /// (Kestra's `<id>-<file name>`).
    pub fn matched(key: String, path: PathBuf) -> Self {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            key,
            path,
            storage_name: format!("{}-{file_name}", unique_name()),
        }
    }

    /// A file stored under its output name.
    pub fn named(key: String, path: PathBuf) -> Self {
        Self {
            storage_name: key.clone(),
            key,
            path,
        }
    }
}

/// Uploads the files to internal storage; returns output name to `kestra:///` URI.
pub(crate) async fn upload(
    context: &RunContext,
    files: Vec<OutputFile>,
) -> Result<Map<String, Value>, TaskError> {
    let storage = context.storage();
    let mut uploaded = Map::new();
    for file in files {
        let path = file.path.clone();
        let bytes = tokio::task::spawn_blocking(move || std::fs::read(&path))
            .await
            .map_err(|error| TaskError::Failed(format!("cannot read an output file: {error}")))?
            .map_err(|error| io_error(&file.path, &error))?;
        let uri = storage.put_file(&file.storage_name, bytes).await?;
        uploaded.insert(file.key, Value::String(uri));
    }
    Ok(uploaded)
}
