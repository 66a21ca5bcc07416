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
