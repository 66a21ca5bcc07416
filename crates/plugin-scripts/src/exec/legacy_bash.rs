//! Running the deprecated `io.kestra.core.tasks.scripts.Bash` (Kestra's `AbstractBash`): output
//! files are declared by key before the run (`{{ outputFiles.key }}` is a path to write to),
//! `outputDirs` likewise, and the outputs also carry the line counts and `files`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use peregrine_plugin_api::{LogLevel, RunContext, TaskError, TaskOutput};
use serde_json::{Map, Value};

use super::glob::{OutputPatterns, all_files};
use super::input_files::render_input_files;
use super::locals::Locals;
use super::log_consumer::LogConsumer;
use super::output_files::collect_output_files;
use super::process::run_in_working_dir;
use super::runner_choice::warn_container_ignored;
use super::script::{create_working_dir, render_bool, render_env};
use super::storage_files::{OutputFile, input_file_contents, localize_storage_uris, upload};
use super::workdir::{WorkingDir, io_error, unique_name};
use crate::legacy::LegacyScriptProperties;
use crate::script::RunnerType;

/// Runs the deprecated Bash task.
pub(crate) async fn run_bash(
    context: &RunContext,
    common: &LegacyScriptProperties,
    commands: &[String],
) -> Result<TaskOutput, TaskError> {
    let runner = match &common.runner {
        Some(property) => context.render_property("runner", property)?,
        None => RunnerType::Process,
    };
    if runner == RunnerType::Docker {
        warn_container_ignored(context, "runner DOCKER");
    }
    let env = render_env(context, common.env.as_ref())?;
    let exit_on_failed = render_bool(
        context,
        "exitOnFailed",
        common.exit_on_failed.as_ref(),
        true,
    )?;

    let working_dir = create_working_dir(context).await?;
    let mut locals = Locals::default();
    locals.insert("workingDir", working_dir.path().display().to_string());
    context.log(
        LogLevel::Info,
        format!(
            "Running script with working directory: {}",
            working_dir.path().display()
        ),
    );

    let mut output_keys = Vec::new();
    for (name, property) in [
        ("outputFiles", &common.output_files),
        ("outputsFiles", &common.outputs_files),
        ("files", &common.files),
    ] {
        if let Some(property) = property {
            output_keys.extend(Locals::default().render_list(context, name, property)?);
        }
    }
    let output_dir_keys = match &common.output_dirs {
        Some(property) => Locals::default().render_list(context, "outputDirs", property)?,
        None => Vec::new(),
    };
    let declared = Declared::new(&working_dir, &output_keys, &output_dir_keys)?;
    let file_paths: Map<String, Value> = declared
        .files
        .iter()
        .map(|(key, path)| (key.clone(), Value::String(path.display().to_string())))
        .collect();
    let dir_paths: Map<String, Value> = declared
        .dirs
        .iter()
        .map(|(key, path)| (key.clone(), Value::String(path.display().to_string())))
        .collect();
    if !file_paths.is_empty() {
        locals.insert("outputFiles", file_paths.clone());
        locals.insert("temp", file_paths);
    }
    if !dir_paths.is_empty() {
        locals.insert("outputDirs", dir_paths);
    }

    let input_files = render_input_files(context, &locals, common.input_files.as_ref())?;
    for (name, _) in &input_files {
        valid_file_name("inputFiles", name)?;
    }
    let mut lines = Vec::with_capacity(commands.len() + 1);
    if exit_on_failed {
        lines.push("set -o errexit".to_string());
    }
    for command in commands {
        lines.push(locals.render(context, command)?);
    }
    let mut files = input_file_contents(context, input_files).await?;
    files.extend(localize_storage_uris(context, working_dir.path(), &mut lines).await?);
    let mut argv = vec![
        common
            .interpreter
            .clone()
            .unwrap_or_else(|| "/bin/sh".to_string()),
    ];
    argv.extend(
        common
            .interpreter_args
            .clone()
            .unwrap_or_else(|| vec!["-c".to_string()]),
    );
    argv.push(lines.join("\n"));

    let (working_dir, declared) = prepare(working_dir, declared, files).await?;
    let mut consumer = LogConsumer::new(context);
    let exit_code = match run_in_working_dir(context, &working_dir, &argv, env, &mut consumer).await
    {
        Ok(exit_code) => exit_code,
        Err(error) => {
            working_dir.remove().await;
            return Err(error);
        }
    };
    let uploaded = collect_declared(context, &working_dir, declared, &output_keys).await;
    working_dir.remove().await;
    let uploaded = uploaded?;

    let mut outputs = Map::new();
    outputs.insert(
        "vars".to_string(),
        Value::Object(std::mem::take(&mut consumer.vars)),
    );
    outputs.insert(
        "stdOutLineCount".to_string(),
        Value::from(consumer.stdout_lines),
    );
    outputs.insert(
        "stdErrLineCount".to_string(),
        Value::from(consumer.stderr_lines),
    );
    outputs.insert("exitCode".to_string(), Value::from(exit_code));
    outputs.insert("files".to_string(), Value::Object(uploaded.clone()));
    outputs.insert("outputFiles".to_string(), Value::Object(uploaded));
    Ok(TaskOutput::success(outputs))
}

/// The files and folders declared by key, created before the run.
struct Declared {
    files: BTreeMap<String, PathBuf>,
    dirs: BTreeMap<String, PathBuf>,
}

impl Declared {
    fn new(
        working_dir: &WorkingDir,
        file_keys: &[String],
        dir_keys: &[String],
    ) -> Result<Self, TaskError> {
        let mut files = BTreeMap::new();
        for key in file_keys {
            valid_file_name("outputFiles", key)?;
            // Kestra's `File.createTempFile(prefix, null)`: `<key>_<random>.tmp`.
            let prefix = format!("{key}_");
            let prefix = format!("{prefix:_>3}");
            let name = format!("{prefix}{}.tmp", unique_name());
            files.insert(key.clone(), working_dir.resolve("outputFiles", &name)?);
        }
        let mut dirs = BTreeMap::new();
        for key in dir_keys {
            valid_file_name("outputDirs", key)?;
            let name = format!("{key}_{}", unique_name());
            dirs.insert(key.clone(), working_dir.resolve("outputDirs", &name)?);
        }
        Ok(Self { files, dirs })
    }
}

/// Kestra refuses names starting with `./`, `..` or `/`.
fn valid_file_name(property: &str, name: &str) -> Result<(), TaskError> {
    if name.starts_with("./") || name.starts_with("..") || name.starts_with('/') {
        return Err(TaskError::Property {
            property: property.to_string(),
            message: format!(
                "Invalid outputFile (only relative path is supported) for path '{name}'"
            ),
        });
    }
    Ok(())
}

/// Creates the declared files (empty) and folders and writes the input files, off the runtime.
async fn prepare(
    working_dir: WorkingDir,
    declared: Declared,
    input_files: Vec<(String, Vec<u8>)>,
) -> Result<(WorkingDir, Declared), TaskError> {
    tokio::task::spawn_blocking(move || {
        for path in declared.files.values() {
            std::fs::write(path, b"").map_err(|error| io_error(path, &error))?;
        }
        for path in declared.dirs.values() {
            std::fs::create_dir_all(path).map_err(|error| io_error(path, &error))?;
        }
        for (name, content) in &input_files {
            working_dir.write("inputFiles", name, content)?;
        }
        Ok((working_dir, declared))
    })
    .await
    .map_err(|error| TaskError::Failed(format!("cannot prepare the working directory: {error}")))?
}

/// The declared files that exist, each file of the declared folders (as `key/relative`), and the
/// files matching the keys as patterns (as Kestra's wrapper does), later ones winning.
async fn collect_declared(
    context: &RunContext,
    working_dir: &WorkingDir,
    declared: Declared,
    output_keys: &[String],
) -> Result<Map<String, Value>, TaskError> {
    let found =
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            for (key, path) in declared.files {
                if path.is_file() {
                    // Kestra stores these under the temporary file's own name.
                    let storage_name = path
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_else(|| key.clone());
                    found.push(OutputFile {
                        key,
                        path,
                        storage_name,
                    });
                }
            }
            for (key, dir) in declared.dirs {
                if dir.is_dir() {
                    let files = all_files(&dir).map_err(|error| io_error(&dir, &error))?;
                    found.extend(files.into_iter().map(|(relative, path)| {
                        OutputFile::named(format!("{key}/{relative}"), path)
                    }));
                }
            }
            Ok::<_, TaskError>(found)
        })
        .await
        .map_err(|error| TaskError::Failed(format!("cannot list the output files: {error}")))??;
    let mut uploaded = upload(context, found).await?;
    let patterns = OutputPatterns::new(output_keys)?;
    uploaded.extend(collect_output_files(context, working_dir, patterns, true).await?);
    Ok(uploaded)
}
