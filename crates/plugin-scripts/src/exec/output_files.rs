//! `outputFiles`: the files of the working directory matching the task's patterns, plus every file
//! written under `{{ outputDir }}`, uploaded to internal storage and named by path.

use std::path::Path;

use peregrine_plugin_api::{RunContext, TaskError};
use serde_json::{Map, Value};

use super::glob::{OutputPatterns, all_files};
use super::storage_files::{OutputFile, upload};
use super::workdir::{WorkingDir, io_error};

/// Uploads the output files; returns name to `kestra:///` URI. Files of the output directory are
/// named relative to it, pattern matches relative to the working directory (and win).
pub(crate) async fn collect_output_files(
    context: &RunContext,
    working_dir: &WorkingDir,
    patterns: OutputPatterns,
    include_output_dir: bool,
) -> Result<Map<String, Value>, TaskError> {
    let root = working_dir.path().to_path_buf();
    let output_dir = include_output_dir.then(|| working_dir.output_dir().to_path_buf());
    let found = tokio::task::spawn_blocking(move || find(&root, &patterns, output_dir.as_deref()))
        .await
        .map_err(|error| TaskError::Failed(format!("cannot list the output files: {error}")))??;
    upload(context, found).await
}

fn find(
    root: &Path,
    patterns: &OutputPatterns,
    output_dir: Option<&Path>,
) -> Result<Vec<OutputFile>, TaskError> {
    let mut found = Vec::new();
    if let Some(output_dir) = output_dir {
        let files = all_files(output_dir).map_err(|error| io_error(output_dir, &error))?;
        found.extend(
            files
                .into_iter()
                .map(|(name, path)| OutputFile::named(name, path)),
        );
    }
    let matched = patterns
        .find(root)
        .map_err(|error| io_error(root, &error))?;
    found.extend(
        matched
            .into_iter()
            .map(|(name, path)| OutputFile::matched(name, path)),
    );
    Ok(found)
}
