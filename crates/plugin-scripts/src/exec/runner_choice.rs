//! Which task runner a script task asked for. Only the Process runner exists on this worker (no
//! container engine): a task asking for a container still runs, as a local process, with a WARN
//! log saying that the image is ignored.

use peregrine_model::PluginSpec;
use peregrine_model::flow::TaskRunner;
use peregrine_plugin_api::{LogLevel, RunContext, TaskError};

use crate::runner::ProcessRunnerSpec;
use crate::script::{RunnerType, ScriptProperties};

/// Logs a WARN when the task asked for a container.
pub(crate) fn warn_if_container(
    context: &RunContext,
    common: &ScriptProperties,
) -> Result<(), TaskError> {
    let runner = match &common.runner {
        Some(property) => Some(context.render_property("runner", property)?),
        None => None,
    };
    let asked = container_request(
        runner,
        common.task_runner.as_ref(),
        common.container_image.is_some() || common.docker.is_some(),
    );
    if let Some(asked) = asked {
        warn_container_ignored(context, &asked);
    }
    Ok(())
}

/// What container the task asked for, if any: the deprecated `runner` wins over `taskRunner`
/// (as in Kestra); a `containerImage` or `docker` without either asks for Kestra's default
/// (Docker).
fn container_request(
    runner: Option<RunnerType>,
    task_runner: Option<&TaskRunner>,
    container_settings: bool,
) -> Option<String> {
    match (runner, task_runner) {
        (Some(RunnerType::Process), _) => None,
        (Some(RunnerType::Docker), _) => Some("runner DOCKER".to_string()),
        (None, Some(task_runner)) if task_runner.common.type_name == ProcessRunnerSpec::TYPE => {
            None
        }
        (None, Some(task_runner)) => {
            Some(format!("task runner '{}'", task_runner.common.type_name))
        }
        (None, None) if container_settings => {
            Some("a container (containerImage without a Process taskRunner)".to_string())
        }
        (None, None) => None,
    }
}

pub(crate) fn warn_container_ignored(context: &RunContext, asked: &str) {
    context.log(
        LogLevel::Warn,
        format!(
            "{asked} is not available on this worker: the commands run as a local process \
             (io.kestra.plugin.core.runner.Process) and the container image is ignored"
        ),
    );
}
