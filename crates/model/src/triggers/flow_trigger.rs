//! Flow trigger: starts an execution when executions of other flows change state.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::registry::{Kind, PluginSpec};
use crate::state::State;

/// An upstream flow a precondition waits for.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamFlow {
    pub namespace: String,
    #[serde(default)]
    pub flow_id: Option<String>,
    #[serde(default)]
    pub states: Vec<State>,
    #[serde(default)]
    pub labels: Option<Value>,
}

/// Several upstream executions that must all happen within a time window.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub flows: Vec<UpstreamFlow>,
    #[serde(default, rename = "where")]
    pub filters: Option<Value>,
    #[serde(default)]
    pub time_window: Option<Value>,
    #[serde(default)]
    pub reset_on_success: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowTriggerSpec {
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    /// The states that fire the trigger; every terminal state by default.
    #[serde(default)]
    pub states: Vec<State>,
    #[serde(default)]
    pub preconditions: Option<Preconditions>,
}

impl PluginSpec for FlowTriggerSpec {
    const KIND: Kind = Kind::Trigger;
    const TYPE: &'static str = "io.kestra.plugin.core.trigger.Flow";
    const ALIASES: &'static [&'static str] = &["io.kestra.core.models.triggers.types.Flow"];
}
