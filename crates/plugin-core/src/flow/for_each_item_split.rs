//! ForEachItem's split step (`<id>_split`): cuts the items file into batch files, one subflow
//! each. The engine adds this step to every ForEachItem; flows never name it.

use peregrine_model::Property;
use peregrine_model::tasks::ForEachItemBatch;
use peregrine_model::tasks::for_each_item_steps::BATCHES_OUTPUT;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;
use crate::storage::SplitSpec;

/// Splits `items` (a `kestra://` file, one item per line) by `batch`: `bytes`, else
/// `partitions`, else `rows` (1 by default), lines ended by `separator` ("\n" by default).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ForEachItemSplitSpec {
    pub items: String,
    #[serde(default)]
    pub batch: Option<ForEachItemBatch>,
}
runnable!(ForEachItemSplitSpec, "flow.ForEachItem$ForEachItemSplit");

impl ForEachItemSplitSpec {
    /// The storage Split task doing the cutting, with the batch options rendered.
    fn split(&self, context: &RunContext, from: String) -> Result<SplitSpec, TaskError> {
        let batch = self.batch.as_ref();
        let bytes = batch
            .and_then(|batch| batch.bytes.as_ref())
            .map(|bytes| context.render_property("bytes", bytes))
            .transpose()?;
        let partitions = batch
            .and_then(|batch| batch.partitions.as_ref())
            .map(|partitions| context.render_property("partitions", partitions))
            .transpose()?;
        let rows = batch
            .and_then(|batch| batch.rows.as_ref())
            .map(|rows| context.render_property("rows", rows))
            .transpose()?
            .unwrap_or(1);
        let separator = batch
            .and_then(|batch| batch.separator.as_ref())
            .map(|separator| context.render_property("separator", separator))
            .transpose()?
            .unwrap_or_else(|| "\n".to_string());
        let whole = |number: u32, property: &str| {
            i32::try_from(number).map_err(|_| TaskError::Property {
                property: property.into(),
                message: format!("{number} is too large"),
            })
        };
        Ok(SplitSpec {
            from,
            bytes,
            partitions: partitions
                .map(|count| whole(count, "partitions").map(Property::Value))
                .transpose()?,
            rows: Some(Property::Value(whole(rows, "rows")?)),
            separator: Some(separator),
        })
    }
}

impl RunnableTask for ForEachItemSplitSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let items = context.render(&self.items)?;
            if !items.starts_with("kestra://") {
                return Err(TaskError::Failed(format!(
                    "Unable to split the items from {items}, this is not an internal storage URI!"
                )));
            }
            let split = self.split(context, items)?;
            let batches = split.run(context).await?.outputs;
            let uris: Vec<Value> = batches
                .get(BATCHES_OUTPUT)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let listing: Vec<&str> = uris.iter().filter_map(Value::as_str).collect();
            let splits = context
                .storage()
                .put_file("splits.txt", listing.join("\n").into_bytes())
                .await?;
            let mut outputs = Map::new();
            outputs.insert("splits".into(), Value::String(splits));
            outputs.insert(BATCHES_OUTPUT.into(), Value::Array(uris));
            Ok(TaskOutput::success(outputs))
        })
    }
}

#[cfg(test)]
mod tests {
    use peregrine_model::PluginSpec;
    use peregrine_model::tasks::for_each_item_steps;

    #[test]
    fn the_steps_have_the_types_the_engine_sends() {
        assert_eq!(
            super::ForEachItemSplitSpec::TYPE,
            for_each_item_steps::SPLIT_TYPE
        );
        assert_eq!(
            super::super::ForEachItemMergeSpec::TYPE,
            for_each_item_steps::MERGE_TYPE
        );
    }
}
