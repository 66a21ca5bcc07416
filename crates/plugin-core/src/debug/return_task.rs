//! Return: renders `format` and returns it as the output `value`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Renders a template and returns it as the output `value`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReturnSpec {
    /// The text to render; becomes `outputs.<id>.value`.
    pub format: Option<String>,
}
runnable!(
    ReturnSpec,
    "debug.Return",
    "io.kestra.core.tasks.debugs.Return"
);

impl peregrine_plugin_api::RunnableTask for ReturnSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            let value = match &self.format {
                Some(format) => serde_json::Value::String(context.render(format)?),
                None => serde_json::Value::Null,
            };
            let mut outputs = serde_json::Map::new();
            outputs.insert("value".to_string(), value);
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
