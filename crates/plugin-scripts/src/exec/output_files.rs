//! `outputFiles`: the files of the working directory matching the task's patterns, plus every file
//! written under `{{ outputDir }}`, given to later tasks by name.

use std::path::PathBuf;

use peregrine_plugin_api::{RunContext, TaskError};
use serde_json::{Map, Value};

use super::glob::{OutputPatterns, all_files};
use super::workdir::{WorkingDir, io_error};

/// Finds the output files: names relative to the working directory for pattern matches, relative
/// to the output directory for what was written there.
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
    publish(context, found).await
}

fn find(
    root: &std::path::Path,
    patterns: &OutputPatterns,
    output_dir: Option<&std::path::Path>,
) -> Result<Vec<(String, PathBuf)>, TaskError> {
    let mut found = Vec::new();
    if let Some(output_dir) = output_dir {
        found.extend(all_files(output_dir).map_err(|error| io_error(output_dir, &error))?);
    }
    found.extend(patterns.find(root).map_err(|error| io_error(root, &error))?);
    Ok(found)
}

/// Gives each file a URI later tasks can read.
///
/// The task API has no internal storage yet: the value is the file's local path, which is only
/// readable while the working directory exists (it is removed when the attempt ends).
pub(crate) async fn publish(
    _context: &RunContext,
    found: Vec<(String, PathBuf)>,
) -> Result<Map<String, Value>, TaskError> {
    Ok(found
        .into_iter()
        .map(|(name, path)| (name, Value::String(path.display().to_string())))
        .collect())
}
