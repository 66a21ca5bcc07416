//! Sleep: waits for a duration (a runnable task, despite its package).

use peregrine_model::{Duration, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Pauses the task for `duration`, then succeeds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SleepSpec {
    /// How long to wait, as an ISO-8601 duration.
    pub duration: Property<Duration>,
}
runnable!(SleepSpec, "flow.Sleep");

impl peregrine_plugin_api::RunnableTask for SleepSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            let duration = context.render_property("duration", &self.duration)?;
            context.log(
                peregrine_plugin_api::LogLevel::Info,
                format!("Waiting for {duration}"),
            );
            tokio::time::sleep(duration.as_std()).await;
            Ok(peregrine_plugin_api::TaskOutput::empty())
        })
    }
}
