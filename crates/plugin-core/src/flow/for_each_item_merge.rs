//! ForEachItem's merge step (`<id>_merge`): writes the outputs of every subflow, in batch
//! order, to one file (`subflowOutputs`), one JSON object per line (each line also an Ion
//! value). The engine adds this step to every ForEachItem and gives it the outputs.

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// The flow outputs of each subflow that has some (the property named by
/// `for_each_item_steps::MERGE_INPUT`).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ForEachItemMergeSpec {
    #[serde(default)]
    pub outputs: Vec<Map<String, Value>>,
}
runnable!(
    ForEachItemMergeSpec,
    "flow.ForEachItem$ForEachItemMergeOutputs"
);

impl RunnableTask for ForEachItemMergeSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            if self.outputs.is_empty() {
                return Ok(TaskOutput::empty());
            }
            let mut bytes = Vec::new();
            for outputs in &self.outputs {
                let line = serde_json::to_vec(outputs)
                    .map_err(|error| TaskError::Failed(error.to_string()))?;
                bytes.extend_from_slice(&line);
                bytes.push(b'\n');
            }
            let uri = context.storage().put_file("outputs.ion", bytes).await?;
            let mut outputs = Map::new();
            outputs.insert("subflowOutputs".into(), Value::String(uri));
            Ok(TaskOutput::success(outputs))
        })
    }
}
