//! Log: writes a message (or several) to the execution logs.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runnable;

/// A log level, from the most to the least severe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

/// Writes a message, or a list of messages, to the execution logs.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct LogSpec {
    /// The message, or a list of messages, to log.
    pub message: Value,
    /// The level to log at; INFO by default.
    pub level: Option<Property<Level>>,
}
runnable!(LogSpec, "log.Log", "io.kestra.core.tasks.log.Log");

impl peregrine_plugin_api::RunnableTask for LogSpec {
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
            let messages: Vec<&Value> = match &self.message {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for message in messages {
                let text = match message {
                    Value::String(template) => context.render(template)?,
                    other => other.to_string(),
                };
                context.log(level.into(), text);
            }
            Ok(peregrine_plugin_api::TaskOutput::empty())
        })
    }
}

impl From<Level> for peregrine_plugin_api::LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Error => peregrine_plugin_api::LogLevel::Error,
            Level::Warn => peregrine_plugin_api::LogLevel::Warn,
            Level::Info => peregrine_plugin_api::LogLevel::Info,
            Level::Debug => peregrine_plugin_api::LogLevel::Debug,
            Level::Trace => peregrine_plugin_api::LogLevel::Trace,
        }
    }
}
