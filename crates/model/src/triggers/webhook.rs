//! Webhook: starts an execution when its URL is called.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::registry::{Kind, PluginSpec};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSpec {
    /// The secret part of the URL `/api/v1/executions/webhook/{namespace}/{flowId}/{key}`.
    pub key: String,
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    /// Answer only once the execution has ended.
    #[serde(default)]
    pub wait: bool,
    /// With `wait`, answer with the flow outputs.
    #[serde(default)]
    pub return_outputs: bool,
}

impl PluginSpec for WebhookSpec {
    const KIND: Kind = Kind::Trigger;
    const TYPE: &'static str = "io.kestra.plugin.core.trigger.Webhook";
    const ALIASES: &'static [&'static str] = &["io.kestra.core.models.triggers.types.Webhook"];
}
