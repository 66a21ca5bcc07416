//! Handing the folder of a WorkingDirectory from one worker to the next. Workers of their own
//! may run on different hosts, and the tasks of one WorkingDirectory are claimed one at a time
//! by whichever worker is free. So, after each task, the worker that ran it saves the folder
//! to internal storage as a zip archive and removes its own copy, and the worker that runs the
//! next task unpacks that archive first. A worker that dies during a task leaves the folder as
//! it was before that task: the next attempt starts from there. The save lies with the
//! execution's other files (`executions/{id}/working-directories/{task run}/folder.zip`) and
//! is deleted once the WorkingDirectory has ended ([`forget`]).
//!
//! The archive keeps what a task may rely on from the one before: directories, file modes,
//! symbolic links (even those pointing outside, such as a virtual environment's interpreter),
//! and whether the files cached between executions changed since the cache was restored.

use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use peregrine_model::execution::TaskRun;
use peregrine_ports::storage::{self, MAX_OBJECT_BYTES, Storage, StorageContext, StoragePath};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The archive comment: whether the cached files changed since the cache was restored.
const CHANGED: &str = "peregrine-handover cache-changed=";

/// Where the latest save of one WorkingDirectory's folder lies in internal storage.
pub(crate) struct Handover {
    archive: StoragePath,
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// Where the saves of the WorkingDirectory task run `key` of an execution lie.
fn saves(scope: &StorageContext, key: &str) -> Result<StoragePath, String> {
    scope
        .execution_prefix()
        .and_then(|prefix| prefix.join(&format!("working-directories/{key}")))
        .map_err(text)
}

/// Deletes the save of a WorkingDirectory that has ended.
pub(crate) async fn forget(
    storage: &dyn Storage,
    scope: &StorageContext,
    key: &str,
) -> Result<(), String> {
    let prefix = saves(scope, key)?;
    storage
        .delete_prefix(&prefix)
        .await
        .map(|_| ())
        .map_err(text)
}

impl Handover {
    /// The saves of the WorkingDirectory task run `key`, of `run`'s execution.
    pub(crate) fn of(run: &TaskRun, key: &str) -> Result<Self, String> {
        let scope = StorageContext::new(&run.namespace, &run.flow_id, &run.execution_id);
        let base = saves(&scope, key)?;
        Ok(Self {
            archive: base.join("folder.zip").map_err(text)?,
        })
    }

    /// Replaces `folder` with the latest save; false when nothing was saved yet (the first
    /// task of the WorkingDirectory). `marker` is the file telling when the cache was restored:
    /// written again when the save says the cached files had not changed.
    pub(crate) async fn bring(
        &self,
        storage: &dyn Storage,
        folder: &Path,
        marker: &Path,
    ) -> Result<bool, String> {
        let bytes = match storage.get(&self.archive).await {
            Ok(bytes) => bytes,
            Err(storage::Error::NotFound(_)) => return Ok(false),
            Err(error) => return Err(format!("cannot read the working directory: {error}")),
        };
        let (folder, marker) = (folder.to_path_buf(), marker.to_path_buf());
        tokio::task::spawn_blocking(move || {
            let changed = unpack(&bytes, &folder)?;
            let _ = std::fs::remove_file(&marker);
            if !changed {
                std::fs::write(&marker, b"").map_err(text)?;
            }
            Ok::<(), String>(())
        })
        .await
        .map_err(text)?
        .map_err(|error| format!("cannot restore the working directory: {error}"))?;
        Ok(true)
    }

    /// Saves `folder` as the latest, for the worker running the next task; `cache_changed`
    /// tells whether its cached files changed since the cache was restored.
    pub(crate) async fn save(
        &self,
        storage: &dyn Storage,
        folder: &Path,
        cache_changed: bool,
    ) -> Result<(), String> {
        let source = folder.to_path_buf();
        let bytes = tokio::task::spawn_blocking(move || pack(&source, cache_changed))
            .await
            .map_err(text)?
            .map_err(|error| format!("cannot save the working directory: {error}"))?;
        storage
            .put(&self.archive, bytes)
            .await
            .map_err(|error| format!("cannot save the working directory: {error}"))
    }
}

/// An archive in memory that refuses to grow past what internal storage keeps in one object.
struct Bounded(Cursor<Vec<u8>>);

impl Write for Bounded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let after = self.0.position().saturating_add(bytes.len() as u64);
        if after > MAX_OBJECT_BYTES {
            return Err(std::io::Error::other(format!(
                "the folder takes more than {} MiB once archived, the most that can be handed \
                 from one worker to the next",
                MAX_OBJECT_BYTES / 1024 / 1024
            )));
        }
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Seek for Bounded {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(position)
    }
}

/// The entries below `folder` (not following symbolic links), parents before children, as
/// names relative to it with `/` between parts. A name that is not UTF-8 is refused: the
/// archive could not name it. Blocking.
fn walk(folder: &Path) -> Result<Vec<(String, PathBuf, std::fs::Metadata)>, String> {
    let mut found = Vec::new();
    let mut pending = vec![(String::new(), folder.to_path_buf())];
    while let Some((prefix, directory)) = pending.pop() {
        let mut children: Vec<_> = std::fs::read_dir(&directory)
            .and_then(|entries| entries.collect::<Result<_, _>>())
            .map_err(text)?;
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            let path = child.path();
            let Ok(own) = child.file_name().into_string() else {
                return Err(format!("{} has a name that is not UTF-8", path.display()));
            };
            let name = format!("{prefix}{own}");
            let metadata = std::fs::symlink_metadata(&path).map_err(text)?;
            if metadata.is_dir() {
                pending.push((format!("{name}/"), path.clone()));
            }
            found.push((name, path, metadata));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The folder as a zip archive. Blocking.
fn pack(folder: &Path, cache_changed: bool) -> Result<Vec<u8>, String> {
    let mut writer = ZipWriter::new(Bounded(Cursor::new(Vec::new())));
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    for (name, path, metadata) in walk(folder)? {
        let options = base.unix_permissions(metadata.permissions().mode() & 0o777);
        if metadata.is_symlink() {
            let target = std::fs::read_link(&path).map_err(text)?;
            let Some(target) = target.to_str() else {
                return Err(format!(
                    "{} links to a path that is not UTF-8",
                    path.display()
                ));
            };
            writer.add_symlink(&name, target, options).map_err(text)?;
        } else if metadata.is_dir() {
            writer.add_directory(&name, options).map_err(text)?;
        } else if metadata.is_file() {
            writer.start_file(&name, options).map_err(text)?;
            let mut file = std::fs::File::open(&path).map_err(text)?;
            std::io::copy(&mut file, &mut writer).map_err(text)?;
        }
    }
    writer
        .set_comment(format!("{CHANGED}{}", u8::from(cache_changed)))
        .map_err(text)?;
    let archive = writer.finish().map_err(text)?;
    Ok(archive.0.into_inner())
}

/// Replaces `folder` with the archive's content; returns whether the cached files had changed.
/// Symbolic links are made last, so no file is written through one. Blocking.
fn unpack(bytes: &[u8], folder: &Path) -> Result<bool, String> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(text)?;
    let changed = String::from_utf8_lossy(archive.comment())
        .strip_prefix(CHANGED)
        .is_none_or(|flag| flag != "0");
    remove_folder(folder)?;
    std::fs::create_dir_all(folder).map_err(text)?;
    let mut links = Vec::new();
    let mut modes = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(text)?;
        let Some(relative) = entry.enclosed_name() else {
            let name = entry
                .name()
                .map(|name| name.to_string())
                .unwrap_or_default();
            return Err(format!("'{name}' is not a path inside the folder"));
        };
        let path = folder.join(relative);
        if entry.is_symlink() {
            let mut target = String::new();
            entry.read_to_string(&mut target).map_err(text)?;
            links.push((path, target));
            continue;
        }
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(text)?;
        } else {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(text)?;
            }
            let mut file = std::fs::File::create(&path).map_err(text)?;
            std::io::copy(&mut entry, &mut file).map_err(text)?;
        }
        if let Some(mode) = entry.unix_mode() {
            modes.push((path, mode & 0o7777));
        }
    }
    // Links once every file is written (none is written through one), then the modes,
    // children first: a read-only directory is filled before it closes.
    for (path, target) in links {
        std::os::unix::fs::symlink(&target, &path).map_err(text)?;
    }
    for (path, mode) in modes.into_iter().rev() {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(text)?;
    }
    Ok(changed)
}

/// Removes `folder` and what it holds, read-only directories included (a task may leave some,
/// such as Go's module cache). Blocking.
pub(crate) fn remove_folder(folder: &Path) -> Result<(), String> {
    if std::fs::symlink_metadata(folder).is_err() {
        return Ok(());
    }
    if std::fs::remove_dir_all(folder).is_ok() {
        return Ok(());
    }
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let writable = std::fs::Permissions::from_mode(0o700);
        let _ = std::fs::set_permissions(&directory, writable);
        for entry in std::fs::read_dir(&directory)
            .into_iter()
            .flatten()
            .flatten()
        {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pending.push(entry.path());
            }
        }
    }
    std::fs::remove_dir_all(folder)
        .map_err(|error| format!("cannot remove {}: {error}", folder.display()))
}

#[cfg(test)]
mod tests;
