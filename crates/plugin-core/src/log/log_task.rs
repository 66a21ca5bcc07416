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
