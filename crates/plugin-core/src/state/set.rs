//! Set: merges data into a state file.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StateFile;
use crate::runnable;

/// Deprecated: merges `data` into a state file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StateSetSpec {
    #[serde(flatten)]
    pub file: StateFile,
    /// The values to merge into the state.
    pub data: Option<Property<Map<String, Value>>>,
}
runnable!(StateSetSpec, "state.Set", "io.kestra.core.tasks.states.Set");

impl RunnableTask for StateSetSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let state = self.file.locate(context)?;
            // Like Kestra's `render(Map)`: every text is rendered to text, other values stay.
            let data = match &self.data {
                Some(Property::Value(map)) => {
                    match render_texts(context, Value::Object(map.clone()))? {
                        Value::Object(map) => map,
                        _ => Map::new(),
                    }
                }
                Some(property) => context.render_property("data", property)?,
                None => Map::new(),
            };
            let current = state.read(context).await?.unwrap_or_default();
            let merged = super::merge(current, data);
            let count = merged.len();
            state.write(context, merged).await?;
            let mut outputs = Map::new();
            outputs.insert("count".into(), Value::from(count));
            outputs.insert("key".into(), Value::String(state.key));
            Ok(TaskOutput::success(outputs))
        })
    }
}

fn render_texts(context: &RunContext, value: Value) -> Result<Value, TaskError> {
    Ok(match value {
        Value::String(template) => Value::String(context.render(&template)?),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| render_texts(context, item))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut rendered = Map::new();
            for (key, item) in map {
                rendered.insert(context.render(&key)?, render_texts(context, item)?);
            }
            Value::Object(rendered)
        }
        other => other,
    })
}
