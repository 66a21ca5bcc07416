//! OutputValues: publishes values as task outputs.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Renders values and returns them as `outputs.<id>.values`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct OutputValuesSpec {
    /// The values to output, by name.
    pub values: Option<Property<Map<String, Value>>>,
}
runnable!(OutputValuesSpec, "output.OutputValues");

impl peregrine_plugin_api::RunnableTask for OutputValuesSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            let values = match &self.values {
                Some(Property::Value(values)) => {
                    context.render_value(&Value::Object(values.clone()))?
                }
                Some(Property::Expression(template)) => {
                    context.render_value(&Value::String(template.clone()))?
                }
                None => Value::Object(Map::new()),
            };
            let mut outputs = Map::new();
            outputs.insert("values".to_string(), values);
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
