//! ForEach and its deprecated forms EachSequential and EachParallel.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::flowable;
use crate::flow::Task;
use crate::property::Property;

/// Runs the tasks once per value, `concurrencyLimit` values at a time (0: all at once).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForEachSpec {
    /// A list, or an expression / JSON string giving a list.
    pub values: Value,
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default = "one")]
    #[schemars(range(min = 0))]
    pub concurrency_limit: u32,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(ForEachSpec, "ForEach");

fn one() -> u32 {
    1
}

/// Deprecated: runs the tasks once per value, one value after the other.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EachSequentialSpec {
    pub value: Value,
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub errors: Vec<Task>,
}
flowable!(EachSequentialSpec, "EachSequential");

/// Deprecated: runs the tasks once per value, values in parallel.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EachParallelSpec {
    pub value: Value,
    #[schemars(length(min = 1))]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub concurrent: Option<Property<u32>>,
    #[serde(default)]
    pub errors: Vec<Task>,
}
flowable!(EachParallelSpec, "EachParallel");
