//! Copying namespace files into a task's working directory before it runs (Kestra's
//! `NamespaceFilesUtils.loadNamespaceFiles`): the files of each namespace in `namespaces` (the
//! flow's by default) that `include`/`exclude` select, read from internal storage under the
//! namespace-files prefix, written at their path from the namespace root (under a folder named
//! after the namespace with `folderPerNamespace`). When two namespaces hold the same path, the
//! last namespace listed wins. A file already in the working directory is handled by `ifExists`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use peregrine_model::Property;
use peregrine_ports::storage::{Storage, StoragePath, namespace_files_prefix};

use super::selection::Selection;
use super::spec::{IfExists, NamespaceFiles};
use crate::{LogLevel, RunContext, TaskError};

/// The rendered `namespaceFiles` property.
struct Rendered {
    selection: Selection,
    namespaces: Vec<String>,
    if_exists: IfExists,
    folder_per_namespace: bool,
}

impl Rendered {
    fn render(context: &RunContext, spec: &NamespaceFiles) -> Result<Self, TaskError> {
        let list = |name: &str, property: Option<&Property<Vec<String>>>| {
            property.map_or(Ok(Vec::new()), |property| {
                context.render_property::<Vec<String>>(name, property)
            })
        };
        let include = list("namespaceFiles.include", spec.include.as_ref())?;
        let exclude = list("namespaceFiles.exclude", spec.exclude.as_ref())?;
        let namespaces = match &spec.namespaces {
            Some(property) => context.render_property("namespaceFiles.namespaces", property)?,
            None => vec![context.task_run.namespace.clone()],
        };
        Ok(Self {
            selection: Selection::new(&include, &exclude)?,
            namespaces,
            if_exists: match &spec.if_exists {
                Some(property) => context.render_property("namespaceFiles.ifExists", property)?,
                None => IfExists::Overwrite,
            },
            folder_per_namespace: render_bool(
                context,
                "namespaceFiles.folderPerNamespace",
                spec.folder_per_namespace.as_ref(),
                false,
            )?,
        })
    }
}

/// A namespace file to copy: where it goes in the working directory, where it is stored.
struct Planned {
    destination: String,
    source: StoragePath,
}

/// Copies the selected namespace files into `folder` when `namespaceFiles` is enabled (it is by
/// default once the property is given); returns how many were copied.
pub async fn load_namespace_files(
    context: &RunContext,
    spec: Option<&NamespaceFiles>,
    folder: &Path,
) -> Result<usize, TaskError> {
    let Some(spec) = spec else {
        return Ok(0);
    };
    if !render_bool(
        context,
        "namespaceFiles.enabled",
        spec.enabled.as_ref(),
        true,
    )? {
        return Ok(0);
    }
    let started = Instant::now();
    let rendered = Rendered::render(context, spec)?;
    let storage = context.services().storage.clone();
    let planned = plan(storage.as_ref(), &rendered).await?;
    for file in &planned {
        let content = storage.get(&file.source).await?;
        let target = folder.join(&file.destination);
        let if_exists = rendered.if_exists;
        let written = tokio::task::spawn_blocking(move || write(&target, &content, if_exists))
            .await
            .map_err(|error| {
                TaskError::Failed(format!("cannot write a namespace file: {error}"))
            })??;
        if !written && if_exists == IfExists::Warn {
            context.log(
                LogLevel::Warn,
                format!(
                    "file '{}' already exists in the working directory: the namespace file is not copied",
                    file.destination
                ),
            );
        }
    }
    context.log(
        LogLevel::Info,
        format!(
            "Loaded {} namespace files from '{}' in {}",
            planned.len(),
            rendered.namespaces.join(", "),
            hours_minutes_seconds(started.elapsed())
        ),
    );
    Ok(planned.len())
}

/// The files to copy, namespace after namespace, one per destination (the last namespace wins).
async fn plan(storage: &dyn Storage, rendered: &Rendered) -> Result<Vec<Planned>, TaskError> {
    let mut planned: Vec<Planned> = Vec::new();
    for namespace in &rendered.namespaces {
        let prefix = namespace_files_prefix(namespace)?;
        for file in storage.list(&prefix).await? {
            let Some(relative) = file.path.as_str().strip_prefix(prefix.as_str()) else {
                continue;
            };
            if !rendered.selection.selects(relative) {
                continue;
            }
            let relative = relative.trim_start_matches('/');
            let destination = if rendered.folder_per_namespace {
                format!("{namespace}/{relative}")
            } else {
                relative.to_string()
            };
            let source = file.path;
            match planned.iter_mut().find(|p| p.destination == destination) {
                Some(earlier) => earlier.source = source,
                None => planned.push(Planned {
                    destination,
                    source,
                }),
            }
        }
    }
    Ok(planned)
}

/// Writes one file; false when it was left as it was (`ifExists` WARN or IGNORE). Blocking.
fn write(target: &PathBuf, content: &[u8], if_exists: IfExists) -> Result<bool, TaskError> {
    let io = |error: std::io::Error| {
        TaskError::Failed(format!("cannot write {}: {error}", target.display()))
    };
    if target.exists() {
        match if_exists {
            IfExists::Overwrite => {}
            IfExists::Fail => {
                return Err(TaskError::Failed(format!(
                    "file '{}' already exists in the working directory",
                    target.display()
                )));
            }
            IfExists::Warn | IfExists::Ignore => return Ok(false),
        }
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(target, content).map_err(io)?;
    Ok(true)
}

fn render_bool(
    context: &RunContext,
    name: &str,
    property: Option<&Property<bool>>,
    default: bool,
) -> Result<bool, TaskError> {
    property.map_or(Ok(default), |property| {
        context.render_property(name, property)
    })
}

/// `H:MM:SS.mmm`, as Kestra's `DurationFormatUtils.formatDurationHMS` prints it.
fn hours_minutes_seconds(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    let seconds = millis / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        millis % 1000
    )
}
