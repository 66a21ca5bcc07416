//! TemplatedTask: renders a task definition, then runs it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Renders `spec` to the YAML of a runnable task and runs that task.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TemplatedTaskSpec {
    /// The YAML definition of a runnable task, rendered before it is read.
    pub spec: String,
}
runnable!(
    TemplatedTaskSpec,
    "templating.TemplatedTask",
    "io.kestra.core.tasks.templating.TemplatedTask"
);

/// The core runnable types, for a worker that did not hand its own runners to the task.
fn core_runners() -> &'static peregrine_plugin_api::Runners {
    static RUNNERS: std::sync::OnceLock<peregrine_plugin_api::Runners> = std::sync::OnceLock::new();
    RUNNERS.get_or_init(|| {
        let mut runners = peregrine_plugin_api::Runners::default();
        crate::runners(&mut runners);
        runners
    })
}

impl peregrine_plugin_api::RunnableTask for TemplatedTaskSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            let yaml = context.render(&self.spec)?;
            let task = super::definition::read_task(&yaml, &context.task_run.task_id)?;
            let runners = context.runners().unwrap_or_else(|| core_runners());
            // As in Kestra, the rendered task runs in this task's context: its outputs are this
            // task run's outputs.
            let runnable = runners.build(&task)?;
            runnable.run(context).await
        })
    }
}
