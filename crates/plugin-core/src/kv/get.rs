//! Get: reads a value from the key-value store.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};

use crate::runnable;

/// Reads the value stored under `key` into the output `value`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KvGetSpec {
    pub key: String,
    /// The namespace of the store; the flow's by default.
    pub namespace: Option<String>,
    /// Fail when the key does not exist; false by default.
    pub error_on_missing: Option<Property<bool>>,
}
runnable!(KvGetSpec, "kv.Get");

impl RunnableTask for KvGetSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let namespace = super::namespace(context, self.namespace.as_deref())?;
            let key = context.render(&self.key)?;
            let error_on_missing = super::flag(
                context,
                "errorOnMissing",
                self.error_on_missing.as_ref(),
                false,
            )?;
            let record = context.kv(&namespace).get(&key).await?;
            if record.is_none() && error_on_missing {
                return Err(TaskError::Failed(format!(
                    "no value found for key '{key}' in namespace '{namespace}' and `errorOnMissing` is true"
                )));
            }
            let mut outputs = Map::new();
            let value = record.map_or(Value::Null, |record| record.value.to_json());
            outputs.insert("value".into(), value);
            Ok(TaskOutput::success(outputs))
        })
    }
}
