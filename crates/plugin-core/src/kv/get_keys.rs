//! GetKeys: lists the keys of the key-value store.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};

use crate::runnable;

/// Lists the keys of a namespace's store, optionally only those starting with `prefix`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct KvGetKeysSpec {
    pub prefix: Option<String>,
    /// The namespace of the store; the flow's by default.
    pub namespace: Option<String>,
}
runnable!(KvGetKeysSpec, "kv.GetKeys");

impl RunnableTask for KvGetKeysSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let namespace = super::namespace(context, self.namespace.as_deref())?;
            let prefix = match &self.prefix {
                Some(template) => Some(context.render(template)?),
                None => None,
            };
            let entries = context.kv(&namespace).list(prefix.as_deref()).await?;
            let keys = entries
                .into_iter()
                .map(|entry| Value::String(entry.key))
                .collect();
            let mut outputs = Map::new();
            outputs.insert("keys".into(), Value::Array(keys));
            Ok(TaskOutput::success(outputs))
        })
    }
}
