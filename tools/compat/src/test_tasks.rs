//! Test-only task types of Kestra's test flows (defined in Kestra's `core/src/test/java`), added
//! to the catalogue the runner validates and runs with.

use peregrine_model::{Kind, PluginSpec, Registry, Role};
use peregrine_plugin_api::{
    BoxFuture, RunContext, RunnableTask, Runners, TaskError, TaskOutput, from_spec,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// `io.kestra.core.tasks.test.Read`: the content of a file of the working directory it shares
/// with a WorkingDirectory's other tasks, as the output `value`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct ReadSpec {
    pub path: String,
}

impl PluginSpec for ReadSpec {
    const KIND: Kind = Kind::Task;
    const TYPE: &'static str = "io.kestra.core.tasks.test.Read";
    const ROLE: Role = Role::Runnable;
}

impl RunnableTask for ReadSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let folder = context.working_dir().ok_or_else(|| {
                TaskError::Failed("Read runs inside a WorkingDirectory".to_string())
            })?;
            let path = context.render(&self.path)?;
            // Java's `Paths.get(folder, "/a/b")` is `folder/a/b`.
            let file = folder.join(path.trim_start_matches('/'));
            let content = tokio::fs::read_to_string(&file).await.map_err(|error| {
                TaskError::Failed(format!("cannot read {}: {error}", file.display()))
            })?;
            let mut outputs = Map::new();
            outputs.insert("value".to_string(), Value::String(content));
            Ok(TaskOutput::success(outputs))
        })
    }
}

/// True for the test-only task types this runner provides.
pub fn provides(type_name: &str) -> bool {
    type_name == ReadSpec::TYPE
}

/// The build's catalogue plus the test-only types.
pub fn registry() -> Registry {
    let mut registry = peregrine_node::catalogue();
    registry.register::<ReadSpec>();
    registry
}

/// The build's runnable types plus the test-only ones.
pub fn runners() -> Runners {
    let mut runners = peregrine_node::runners();
    runners.add(ReadSpec::TYPE, from_spec::<ReadSpec>);
    runners
}
