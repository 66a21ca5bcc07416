//! Process: runs the commands as a child process of the worker.

use peregrine_model::{Kind, PluginSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Runs the commands on the worker's host, in a process. No properties of its own.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProcessRunnerSpec {}

impl PluginSpec for ProcessRunnerSpec {
    const KIND: Kind = Kind::TaskRunner;
    const TYPE: &'static str = "io.kestra.plugin.core.runner.Process";
}
