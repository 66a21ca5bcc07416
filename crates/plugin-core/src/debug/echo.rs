//! Echo (deprecated, use Log): renders `format` and logs it.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::log::Level;
use crate::runnable;

/// Deprecated: logs a rendered template; use `io.kestra.plugin.core.log.Log`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EchoSpec {
    /// The text to render and log.
    #[schemars(length(min = 1))]
    pub format: String,
    /// The level to log at; INFO by default.
    pub level: Option<Property<Level>>,
}
runnable!(EchoSpec, "debug.Echo", "io.kestra.core.tasks.debugs.Echo");

impl peregrine_plugin_api::RunnableTask for EchoSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            let level = match &self.level {
                Some(level) => context.render_property("level", level)?,
                None => Level::Info,
            };
            context.log(level.into(), context.render(&self.format)?);
            Ok(peregrine_plugin_api::TaskOutput::empty())
        })
    }
}
