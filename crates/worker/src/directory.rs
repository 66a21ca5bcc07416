//! The folders shared by the tasks of a WorkingDirectory on this worker: created on first use
//! (cache restored, then input files written), closed once its tasks have ended (output files
//! uploaded, cache saved), removed when the WorkingDirectory ends.
//!
//! The cache lives where Kestra keeps it: `/{namespace}/{flow}/{task id}/cache/cache.zip`, or
//! `.../cache/{hash of the task run value}/cache.zip` inside a loop. It is saved only when a file
//! it holds changed since it was restored (a marker next to the folder records when).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use peregrine_engine::effects::{DirectoryCache, SharedDirectory};
use peregrine_model::execution::TaskRun;
use peregrine_plugin_api::glob::{Glob, matching_files};
use peregrine_plugin_api::namespace_files::{NamespaceFiles, load_namespace_files};
use peregrine_plugin_api::{LogLevel, RunContext};
use peregrine_ports::storage::{self, Storage, StoragePath};
use serde_json::{Map, Value};

use crate::archive;
use crate::handover::Handover;

/// Where the folders shared by the tasks of a WorkingDirectory live on this worker.
fn shared_root() -> PathBuf {
    std::env::temp_dir()
        .join("peregrine")
        .join("working-directories")
}

/// The folder of a WorkingDirectory task run, when its key is a plain name.
pub(crate) fn folder(key: &str) -> Result<PathBuf, String> {
    let valid = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(format!("invalid working directory key '{key}'"));
    }
    Ok(shared_root().join(key))
}

/// The file next to the folder whose time tells when the cache was restored.
fn restored_marker(folder: &Path) -> PathBuf {
    folder.with_extension("restored")
}

/// Where a WorkingDirectory's cache is stored.
pub(crate) fn cache_path(run: &TaskRun, cache: &DirectoryCache) -> Result<StoragePath, String> {
    let flow = storage::flow_prefix(&run.namespace, &run.flow_id).map_err(|e| e.to_string())?;
    let task = storage::slugify(&cache.task_id);
    let relative = match &cache.value {
        Some(value) => format!("{task}/cache/{}/cache.zip", storage::hash_to_string(value)),
        None => format!("{task}/cache/cache.zip"),
    };
    flow.join(&relative).map_err(|error| error.to_string())
}

/// The shared folder of a WorkingDirectory task run, created on first use: its cache restored,
/// then its namespace files copied, then its input files written. `context` is the job asking.
/// With `hand_over`, the folder is the one the previous task left, from internal storage.
pub(crate) async fn prepare(
    shared: SharedDirectory,
    storage: &dyn Storage,
    context: &RunContext,
    hand_over: bool,
) -> Result<PathBuf, String> {
    let path = folder(&shared.key)?;
    if hand_over {
        if bring_saved(storage, context, &shared.key).await? {
            return Ok(path);
        }
        // The first task: a copy left by an attempt that died here is not reused.
        release(&shared.key).await;
    } else if tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Ok(path);
    }
    let restored = match &shared.cache {
        Some(cache) => restore_cache(storage, &context.task_run, cache).await?,
        None => Vec::new(),
    };
    let work = path.clone();
    tokio::task::spawn_blocking(move || create(&work, &restored, !restored.is_empty()))
        .await
        .map_err(|error| error.to_string())??;
    if let Err(message) =
        copy_namespace_files(context, shared.namespace_files.as_ref(), &path).await
    {
        let _ = tokio::fs::remove_dir_all(&path).await;
        return Err(message);
    }
    let work = path.clone();
    tokio::task::spawn_blocking(move || write_input_files(&work, &shared.input_files))
        .await
        .map_err(|error| error.to_string())??;
    Ok(path)
}

/// Copies the WorkingDirectory's `namespaceFiles` into its folder.
async fn copy_namespace_files(
    context: &RunContext,
    namespace_files: Option<&Value>,
    folder: &Path,
) -> Result<(), String> {
    let Some(written) = namespace_files else {
        return Ok(());
    };
    let spec: NamespaceFiles = serde_json::from_value(written.clone())
        .map_err(|error| format!("invalid namespaceFiles: {error}"))?;
    load_namespace_files(context, Some(&spec), folder)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// The entries of a cache still within its time to live; an expired one is deleted.
async fn restore_cache(
    storage: &dyn Storage,
    run: &TaskRun,
    cache: &DirectoryCache,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let path = cache_path(run, cache)?;
    let bytes = match storage.get(&path).await {
        Ok(bytes) => bytes,
        Err(storage::Error::NotFound(_)) => return Ok(Vec::new()),
        Err(error) => return Err(error.to_string()),
    };
    // An archive that cannot be read is left to be replaced when the folder closes.
    let Ok(archive) = archive::read(&bytes) else {
        return Ok(Vec::new());
    };
    if let (Some(ttl), Some(created)) = (cache.ttl, archive.created_millis) {
        let age = jiff::Timestamp::now()
            .as_millisecond()
            .saturating_sub(created);
        let ttl = i64::try_from(ttl.as_std().as_millis()).unwrap_or(i64::MAX);
        if age > ttl {
            storage.delete(&path).await.map_err(|e| e.to_string())?;
            return Ok(Vec::new());
        }
    }
    Ok(archive.entries)
}

/// Creates the folder with the cached files. Blocking.
fn create(folder: &Path, cached: &[(String, Vec<u8>)], mark_restored: bool) -> Result<(), String> {
    std::fs::create_dir_all(folder)
        .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
    for (name, content) in cached {
        write_inside(folder, name, content)?;
    }
    if mark_restored {
        let marker = restored_marker(folder);
        std::fs::write(&marker, b"")
            .map_err(|error| format!("cannot write {}: {error}", marker.display()))?;
    }
    Ok(())
}

/// Writes the input files into the folder. Blocking.
fn write_input_files(folder: &Path, input_files: &Map<String, Value>) -> Result<(), String> {
    for (name, content) in input_files {
        let text = match content {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        write_inside(folder, name, text.as_bytes())?;
    }
    Ok(())
}

/// Writes a file at a relative path inside the folder (never outside it).
fn write_inside(folder: &Path, name: &str, content: &[u8]) -> Result<(), String> {
    let relative = Path::new(name);
    let inside = relative
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)));
    if !inside {
        return Err(format!(
            "file '{name}' is not a relative path inside the working directory"
        ));
    }
    let file = folder.join(relative);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    std::fs::write(&file, content)
        .map_err(|error| format!("cannot write {}: {error}", file.display()))
}

/// Removes the folder of a WorkingDirectory that has ended.
pub(crate) async fn release(key: &str) {
    let Ok(path) = folder(key) else {
        return;
    };
    let _ = tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_file(restored_marker(&path));
        crate::handover::remove_folder(&path)
    })
    .await;
}

/// With `hand_over`, brings the folder a closing job needs from internal storage.
pub(crate) async fn bring(
    shared: &SharedDirectory,
    context: &RunContext,
    hand_over: bool,
) -> Result<(), String> {
    if !hand_over {
        return Ok(());
    }
    let storage = context.services().storage.clone();
    bring_saved(storage.as_ref(), context, &shared.key)
        .await
        .map(|_| ())
}

/// Replaces the folder `key` with what the previous task saved; false when nothing was saved.
async fn bring_saved(
    storage: &dyn Storage,
    context: &RunContext,
    key: &str,
) -> Result<bool, String> {
    let path = folder(key)?;
    Handover::of(&context.task_run, key)?
        .bring(storage, &path, &restored_marker(&path))
        .await
}

/// Saves the folder for the worker running the next task of the WorkingDirectory.
pub(crate) async fn hand_over(
    shared: &SharedDirectory,
    context: &RunContext,
) -> Result<(), String> {
    let path = folder(&shared.key)?;
    let changed = match &shared.cache {
        Some(cache) => {
            let found = read_matching(&path, &cache.patterns, false).await?;
            cache_changed(&found, &path).await
        }
        None => false,
    };
    let storage = context.services().storage.clone();
    Handover::of(&context.task_run, &shared.key)?
        .save(storage.as_ref(), &path, changed)
        .await
}

/// True when a file of `found` changed since the cache was restored in `folder` (or when it
/// was not restored).
async fn cache_changed(found: &Found, folder: &Path) -> bool {
    let restored_at = tokio::fs::metadata(restored_marker(folder))
        .await
        .and_then(|metadata| metadata.modified())
        .ok();
    found
        .iter()
        .any(|(_, _, modified)| match (modified, restored_at) {
            (Some(modified), Some(restored)) => *modified > restored,
            _ => true,
        })
}

/// Closes the folder of the WorkingDirectory whose task run is `context`'s: uploads its output
/// files (an error fails the WorkingDirectory) and saves its cache (an error is only logged, as
/// Kestra does). Returns the WorkingDirectory's outputs.
pub(crate) async fn close(
    context: &RunContext,
    shared: &SharedDirectory,
) -> Result<Map<String, Value>, String> {
    let path = folder(&shared.key)?;
    let mut outputs = Map::new();
    let uploaded = upload_output_files(context, &path, &shared.output_files).await?;
    if !uploaded.is_empty() {
        outputs.insert("outputFiles".into(), Value::Object(uploaded));
    }
    if let Some(cache) = &shared.cache
        && let Err(message) = save_cache(context, &path, cache).await
    {
        context.log(
            LogLevel::Error,
            format!("cannot save the working directory cache: {message}"),
        );
    }
    Ok(outputs)
}

fn globs(patterns: &[String]) -> Result<Vec<Glob>, String> {
    patterns
        .iter()
        .map(|pattern| Glob::new(pattern).map_err(|error| format!("pattern '{pattern}': {error}")))
        .collect()
}

/// The files matching `patterns` with their content and last change. Blocking.
type Found = Vec<(String, Vec<u8>, Option<SystemTime>)>;

/// The files matching `patterns` below `folder`; their content is read only when `content`
/// asks (left empty otherwise: only their last change is wanted).
async fn read_matching(folder: &Path, patterns: &[String], content: bool) -> Result<Found, String> {
    let globs = globs(patterns)?;
    let folder = folder.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<Found, String> {
        if !folder.exists() {
            return Ok(Vec::new());
        }
        let failed = |error: std::io::Error| format!("cannot read {}: {error}", folder.display());
        let mut found = Vec::new();
        for (relative, path) in matching_files(&folder, &globs).map_err(failed)? {
            let content = if content {
                std::fs::read(&path).map_err(failed)?
            } else {
                Vec::new()
            };
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            found.push((relative, content, modified));
        }
        Ok(found)
    })
    .await
    .map_err(|error| error.to_string())?
}

/// Uploads the files matching `patterns` below the WorkingDirectory's task run: relative path to
/// `kestra:///` URI.
async fn upload_output_files(
    context: &RunContext,
    folder: &Path,
    patterns: &[String],
) -> Result<Map<String, Value>, String> {
    let mut uploaded = Map::new();
    if patterns.is_empty() {
        return Ok(uploaded);
    }
    for (relative, content, _) in read_matching(folder, patterns, true).await? {
        let name = relative.rsplit('/').next().unwrap_or(&relative).to_string();
        let uri = context
            .storage()
            .put_unique_file(&name, content)
            .await
            .map_err(|error| error.to_string())?;
        uploaded.insert(relative, Value::String(uri));
    }
    Ok(uploaded)
}

/// Saves the files matching the cache patterns when one changed since the cache was restored.
async fn save_cache(
    context: &RunContext,
    folder: &Path,
    cache: &DirectoryCache,
) -> Result<(), String> {
    let found = read_matching(folder, &cache.patterns, true).await?;
    if !cache_changed(&found, folder).await {
        return Ok(());
    }
    let entries: Vec<(String, Vec<u8>)> = found
        .into_iter()
        .map(|(relative, content, _)| (relative, content))
        .collect();
    let bytes =
        archive::write(&entries, jiff::Timestamp::now()).map_err(|error| error.to_string())?;
    let path = cache_path(&context.task_run, cache)?;
    context
        .services()
        .storage
        .put(&path, bytes)
        .await
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use peregrine_model::expressions::Expressions;
    use peregrine_model::flow::Task;
    use peregrine_plugin_api::{LogEntry, LogSink, TaskServices};
    use serde_json::json;

    use super::*;

    struct Verbatim;

    impl Expressions for Verbatim {
        fn render(&self, template: &str, _variables: &Value) -> Result<Value, String> {
            Ok(Value::String(template.to_string()))
        }
    }

    struct NoLogs;

    impl LogSink for NoLogs {
        fn emit(&self, _entry: LogEntry) {}
    }

    fn run(id: &str) -> TaskRun {
        serde_json::from_value(json!({
            "id": id, "executionId": format!("exec-{id}"), "namespace": "company.team",
            "flowId": "cached", "taskId": "wd",
            "state": {"current": "RUNNING", "histories": []},
        }))
        .expect("a task run")
    }

    fn shared(key: &str, ttl: Option<&str>) -> SharedDirectory {
        SharedDirectory {
            key: key.to_string(),
            input_files: Map::new(),
            cache: Some(DirectoryCache {
                task_id: "wd".into(),
                value: None,
                patterns: vec!["*.txt".into()],
                ttl: ttl.and_then(|ttl| ttl.parse().ok()),
            }),
            output_files: vec!["out/*".into()],
            namespace_files: None,
        }
    }

    fn context(services: &TaskServices, run: TaskRun) -> RunContext {
        let task: Task = serde_json::from_value(
            json!({"id": "wd", "type": "io.kestra.plugin.core.flow.WorkingDirectory"}),
        )
        .expect("a task");
        RunContext::new(
            run,
            task,
            json!({}),
            1,
            Arc::new(Verbatim),
            Arc::new(NoLogs),
            services.clone(),
        )
    }

    fn key(name: &str) -> String {
        format!("directory-test-{name}-{}", std::process::id())
    }

    #[tokio::test]
    async fn a_closed_folder_saves_its_cache_and_output_files_for_the_next_run() {
        let services = TaskServices::in_memory();
        let first = key("first");
        let path = prepare(
            shared(&first, Some("PT1H")),
            services.storage.as_ref(),
            &context(&services, run(&first)),
            false,
        )
        .await
        .expect("prepared");
        std::fs::create_dir_all(path.join("out")).expect("a folder");
        std::fs::write(path.join("hello.txt"), "HELLO").expect("a file");
        std::fs::write(path.join("out/result.csv"), "a,b").expect("a file");
        let outputs = close(
            &context(&services, run(&first)),
            &shared(&first, Some("PT1H")),
        )
        .await
        .expect("closed");
        release(&first).await;
        let uri = outputs["outputFiles"]["out/result.csv"]
            .as_str()
            .expect("a uri");
        assert!(
            uri.starts_with("kestra:///company/team/cached/executions/exec-"),
            "{uri}"
        );
        assert!(uri.ends_with("-result.csv"), "{uri}");
        let cache = StoragePath::new("/company/team/cached/wd/cache/cache.zip").expect("a path");
        assert!(services.storage.exists(&cache).await.expect("checked"));

        let second = key("second");
        let path = prepare(
            shared(&second, Some("PT1H")),
            services.storage.as_ref(),
            &context(&services, run(&second)),
            false,
        )
        .await
        .expect("prepared");
        let restored = std::fs::read_to_string(path.join("hello.txt")).unwrap_or_default();
        release(&second).await;
        assert_eq!(restored, "HELLO");
    }

    #[tokio::test]
    async fn an_expired_cache_is_dropped_not_restored() {
        let services = TaskServices::in_memory();
        let cache = shared("unused", None).cache.expect("a cache");
        let path = cache_path(&run("old"), &cache).expect("a path");
        let old = archive::write(
            &[("hello.txt".into(), b"OLD".to_vec())],
            jiff::Timestamp::UNIX_EPOCH,
        )
        .expect("written");
        services.storage.put(&path, old).await.expect("stored");
        let fresh = key("expired");
        let folder = prepare(
            shared(&fresh, Some("PT1H")),
            services.storage.as_ref(),
            &context(&services, run(&fresh)),
            false,
        )
        .await
        .expect("prepared");
        let restored = folder.join("hello.txt").exists();
        release(&fresh).await;
        assert!(!restored);
        assert!(!services.storage.exists(&path).await.expect("checked"));
    }

    #[tokio::test]
    async fn a_deflated_cache_written_like_kestra_is_restored() {
        use std::io::Write;

        let services = TaskServices::in_memory();
        let cache = shared("unused", None).cache.expect("a cache");
        let path = cache_path(&run("kestra"), &cache).expect("a path");
        let text = "the same line again and again\n".repeat(1000);
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(archive::dos_time(jiff::Timestamp::now()).expect("a DOS time"));
        writer
            .start_file("deps/lock.txt", options)
            .expect("an entry");
        writer.write_all(text.as_bytes()).expect("written");
        let bytes = writer.finish().expect("finished").into_inner();
        assert!(
            bytes.len() < text.len() / 10,
            "deflated: {} bytes",
            bytes.len()
        );
        services.storage.put(&path, bytes).await.expect("stored");

        let fresh = key("kestra");
        let folder = prepare(
            shared(&fresh, Some("PT1H")),
            services.storage.as_ref(),
            &context(&services, run(&fresh)),
            false,
        )
        .await
        .expect("prepared");
        let restored = std::fs::read_to_string(folder.join("deps/lock.txt")).unwrap_or_default();
        release(&fresh).await;
        assert_eq!(restored, text);
    }

    #[tokio::test]
    async fn namespace_files_land_after_the_cache_and_before_the_input_files() {
        let services = TaskServices::in_memory();
        for (path, content) in [
            ("a.txt", "namespace"),
            ("c.txt", "namespace c"),
            ("ignore/b.txt", "b"),
        ] {
            let path = storage::namespace_files_prefix("company.team")
                .and_then(|prefix| prefix.join(path))
                .expect("a path");
            services
                .storage
                .put(&path, content.as_bytes().to_vec())
                .await
                .expect("stored");
        }
        let name = key("namespace-files");
        let mut directory = shared(&name, None);
        directory.cache = None;
        directory.namespace_files = Some(json!({"exclude": ["/ignore/**"]}));
        directory.input_files.insert("a.txt".into(), json!("input"));
        let folder = prepare(
            directory,
            services.storage.as_ref(),
            &context(&services, run(&name)),
            false,
        )
        .await
        .expect("prepared");
        let read = |file: &str| std::fs::read_to_string(folder.join(file)).ok();
        let found = (read("a.txt"), read("c.txt"), read("ignore/b.txt"));
        release(&name).await;
        assert_eq!(
            found,
            (Some("input".into()), Some("namespace c".into()), None)
        );
    }
}
