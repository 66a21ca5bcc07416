//! Retry policies (`type: constant | exponential | random`), on tasks and on flows.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::registry::{Kind, PluginSpec};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryBehavior {
    /// Run the failed task again in the same execution.
    #[default]
    RetryFailedTask,
    /// Replay the execution into a new one.
    CreateNewExecution,
}

/// Properties shared by every retry policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryCommon {
    /// Total number of attempts, the first one included.
    #[schemars(range(min = 1))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempt: Option<u32>,
    /// Stop retrying once this much time has passed since the first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<Duration>,
    /// A success after a retry ends in WARNING.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warning_on_retry: bool,
    #[serde(default)]
    pub behavior: RetryBehavior,
}

/// Waits the same interval before each attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConstantRetry {
    pub interval: Duration,
}

/// Waits longer before each attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExponentialRetry {
    pub interval: Duration,
    pub max_interval: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_factor: Option<f64>,
}

/// Waits a random interval between two bounds before each attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RandomRetry {
    pub min_interval: Duration,
    pub max_interval: Duration,
}

impl PluginSpec for ConstantRetry {
    const KIND: Kind = Kind::Retry;
    const TYPE: &'static str = "constant";
}

impl PluginSpec for ExponentialRetry {
    const KIND: Kind = Kind::Retry;
    const TYPE: &'static str = "exponential";
}

impl PluginSpec for RandomRetry {
    const KIND: Kind = Kind::Retry;
    const TYPE: &'static str = "random";
}

/// When to wait before the next attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RetryPolicy {
    Constant(ConstantRetry),
    Exponential(ExponentialRetry),
    Random(RandomRetry),
}

/// A retry policy as written in a flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    #[serde(flatten)]
    pub common: RetryCommon,
    #[serde(flatten)]
    pub policy: RetryPolicy,
}

impl JsonSchema for Retry {
    fn schema_name() -> Cow<'static, str> {
        Kind::Retry.def_name().into()
    }

    fn inline_schema() -> bool {
        false
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "required": ["type"] })
    }
}
