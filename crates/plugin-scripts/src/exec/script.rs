//! Running a script task (Kestra's `AbstractExecScript` + `CommandsWrapper` with the Process
//! runner): render the properties, prepare a fresh working directory, run
//! `interpreter... "<set -e>\n<beforeCommands>\n<commands>"`, and build `{vars, exitCode,
//! outputFiles}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use peregrine_model::Property;
use peregrine_model::state::State;
use peregrine_plugin_api::namespace_files::load_namespace_files;
use peregrine_plugin_api::{RunContext, TaskError, TaskOutput};
use serde_json::{Map, Value};

use super::glob::OutputPatterns;
use super::input_files::render_input_files;
use super::locals::Locals;
use super::log_consumer::LogConsumer;
use super::output_files::collect_output_files;
use super::process::run_in_working_dir;
use super::runner_choice::warn_if_container;
use super::storage_files::{input_file_contents, localize_storage_uris};
use super::workdir::{WorkingDir, io_error, unique_name};
use crate::script::{ScriptProperties, TargetOs};

/// How a script task gives what to run.
pub(crate) enum Body<'a> {
    /// `commands`, run one after the other by the interpreter.
    Commands(&'a Property<Vec<String>>),
    /// A script passed to the interpreter as it is (the shell `Script` task).
    Inline(&'a str),
    /// A script written to a file in the working directory, then run by a program.
    File(ScriptFile<'a>),
}

/// A script that runs from a file.
pub(crate) struct ScriptFile<'a> {
    pub source: &'a str,
    /// Text put before the rendered source.
    pub prelude: &'static str,
    pub extension: &'static str,
    pub launcher: Launcher,
}

/// The program that runs a script file.
#[derive(Clone, Copy)]
pub(crate) enum Launcher {
    /// `python3` (or `python`) from the PATH, or the active virtualenv's (Kestra's command).
    Python,
    Node,
}

impl Launcher {
    /// The command line that runs `path`. Blocking (looks the interpreter up on the PATH).
    fn command(self, path: &Path) -> String {
        let path = path.display();
        match self {
            Launcher::Python => {
                let python = if on_path("python3") {
                    "python3"
                } else {
                    "python"
                };
                format!(
                    "if [ -n \"$VIRTUAL_ENV\" ]; then \"$VIRTUAL_ENV/bin/python\" \"{path}\"; \
                     else \"{python}\" \"{path}\"; fi"
                )
            }
            Launcher::Node => format!("node {path}"),
        }
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|folder| folder.join(program).is_file())
    })
}

/// A script task to run.
pub(crate) struct ScriptTask<'a> {
    pub common: &'a ScriptProperties,
    pub body: Body<'a>,
    /// Environment variables the task type adds (over the user's `env`).
    pub type_env: &'static [(&'static str, &'static str)],
}

/// The rendered common properties.
struct Settings {
    env: BTreeMap<String, String>,
    interpreter: Vec<String>,
    warning_on_std_err: bool,
    fail_fast: bool,
    target_os: TargetOs,
}

impl Settings {
    fn render(context: &RunContext, common: &ScriptProperties) -> Result<Self, TaskError> {
        let interpreter = match &common.interpreter {
            Some(property) => Locals::default().render_list(context, "interpreter", property)?,
            None => vec!["/bin/sh".to_string(), "-c".to_string()],
        };
        Ok(Self {
            env: render_env(context, common.env.as_ref())?,
            interpreter,
            // Kestra 0.23 dropped the WARNING on stderr; an explicit `true` keeps the old behaviour.
            warning_on_std_err: render_bool(
                context,
                "warningOnStdErr",
                common.warning_on_std_err.as_ref(),
                false,
            )?,
            fail_fast: render_bool(context, "failFast", common.fail_fast.as_ref(), true)?,
            target_os: match &common.target_os {
                Some(property) => context.render_property("targetOS", property)?,
                None => TargetOs::Auto,
            },
        })
    }
}

pub(crate) fn render_bool(
    context: &RunContext,
    name: &str,
    property: Option<&Property<bool>>,
    default: bool,
) -> Result<bool, TaskError> {
    property.map_or(Ok(default), |property| {
        context.render_property(name, property)
    })
}

/// Renders `env`: each key and value of a literal mapping, or the mapping an expression gives.
pub(crate) fn render_env(
    context: &RunContext,
    env: Option<&Property<BTreeMap<String, String>>>,
) -> Result<BTreeMap<String, String>, TaskError> {
    match env {
        None => Ok(BTreeMap::new()),
        Some(Property::Value(map)) => map
            .iter()
            .map(|(key, value)| Ok((context.render(key)?, context.render(value)?)))
            .collect(),
        Some(property) => context.render_property("env", property),
    }
}

/// Runs a script task to its end.
pub(crate) async fn run_script(
    context: &RunContext,
    task: ScriptTask<'_>,
) -> Result<TaskOutput, TaskError> {
    let common = task.common;
    warn_if_container(context, common)?;
    let settings = Settings::render(context, common)?;

    let working_dir = create_working_dir(context).await?;
    load_namespace_files(context, common.namespace_files.as_ref(), working_dir.path()).await?;
    let mut locals = Locals::default();
    locals.insert("workingDir", working_dir.path().display().to_string());
    locals.insert("outputDir", working_dir.output_dir().display().to_string());

    let input_files = render_input_files(context, &locals, common.input_files.as_ref())?;
    let mut lines = match &common.before_commands {
        Some(property) => locals.render_list(context, "beforeCommands", property)?,
        None => Vec::new(),
    };
    let output_patterns = match &common.output_files {
        Some(property) => locals.render_list(context, "outputFiles", property)?,
        None => Vec::new(),
    };
    let output_patterns = OutputPatterns::new(&output_patterns)?;
    let script_file = match task.body {
        Body::Commands(property) => {
            lines.extend(locals.render_list(context, "commands", property)?);
            None
        }
        Body::Inline(script) => {
            lines.push(locals.render(context, script)?);
            None
        }
        Body::File(file) => {
            lines.push(locals.render(context, file.source)?);
            Some(file)
        }
    };

    // `kestra://` files: input files given by URI, and URIs in the commands or the script.
    let mut files = input_file_contents(context, input_files).await?;
    files.extend(localize_storage_uris(context, working_dir.path(), &mut lines).await?);
    let launcher = match (script_file, lines.pop()) {
        (Some(file), Some(source)) => {
            let name = format!("{}.{}", unique_name(), file.extension);
            let path = working_dir.path().join(&name);
            files.push((name, format!("{}{source}", file.prelude).into_bytes()));
            Some((file.launcher, path))
        }
        (_, last) => {
            lines.extend(last);
            None
        }
    };
    let (working_dir, launched) = write_files(working_dir, files, launcher).await?;
    lines.extend(launched);
    let mut argv = settings.interpreter.clone();
    argv.push(join_commands(&settings, lines));

    let mut env = settings.env.clone();
    for (key, value) in task.type_env {
        env.insert((*key).to_string(), (*value).to_string());
    }
    let mut consumer = LogConsumer::new(context);
    let exit_code = match run_in_working_dir(context, &working_dir, &argv, env, &mut consumer).await
    {
        Ok(exit_code) => exit_code,
        Err(error) => {
            working_dir.remove().await;
            return Err(error);
        }
    };
    let output_files = collect_output_files(context, &working_dir, output_patterns, true).await;
    working_dir.remove().await;
    let output_files = output_files?;

    let mut outputs = Map::new();
    outputs.insert(
        "vars".to_string(),
        Value::Object(std::mem::take(&mut consumer.vars)),
    );
    outputs.insert("exitCode".to_string(), Value::from(exit_code));
    outputs.insert("outputFiles".to_string(), Value::Object(output_files));
    let state =
        (settings.warning_on_std_err && consumer.stderr_lines > 0).then_some(State::Warning);
    Ok(TaskOutput { state, outputs })
}

/// `set -e` (when failing fast), then the before commands and the commands, one per line.
fn join_commands(settings: &Settings, commands: Vec<String>) -> String {
    let windows = settings.target_os == TargetOs::Windows;
    let mut lines = Vec::with_capacity(commands.len() + 1);
    if settings.fail_fast {
        // Kestra puts an empty line for Windows, whose shells have no `set -e`.
        lines.push(if windows {
            String::new()
        } else {
            "set -e".to_string()
        });
    }
    lines.extend(commands);
    lines.join(if windows { "\r\n" } else { "\n" })
}

pub(crate) async fn create_working_dir(context: &RunContext) -> Result<WorkingDir, TaskError> {
    let shared = context.working_dir().map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || match shared {
        Some(path) => WorkingDir::shared(&path),
        None => WorkingDir::create(),
    })
    .await
    .map_err(|error| TaskError::Failed(format!("cannot create the working directory: {error}")))?
    .map_err(|error| TaskError::Failed(format!("cannot create the working directory: {error}")))
}

/// Writes the input files (and a script file) off the runtime threads; gives back the working
/// directory and the launcher's command line, if any.
async fn write_files(
    working_dir: WorkingDir,
    files: Vec<(String, Vec<u8>)>,
    launcher: Option<(Launcher, PathBuf)>,
) -> Result<(WorkingDir, Option<String>), TaskError> {
    tokio::task::spawn_blocking(move || {
        for (name, content) in &files {
            working_dir.write("inputFiles", name, content)?;
        }
        let command = launcher.map(|(launcher, path)| launcher.command(&path));
        Ok((working_dir, command))
    })
    .await
    .map_err(|error| io_error(Path::new("inputFiles"), &std::io::Error::other(error)))?
}
