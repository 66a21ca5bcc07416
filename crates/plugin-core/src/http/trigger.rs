//! Trigger: polls a URL and starts an execution when the response matches a condition.

use peregrine_model::{Duration, Kind, PluginSpec, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::HttpRequest;

/// Calls a URL every `interval`; starts an execution when `responseCondition` is true.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpTriggerSpec {
    #[serde(flatten)]
    pub request: HttpRequest,
    /// Time between two calls; PT1M by default.
    pub interval: Option<Duration>,
    /// A template on `response`; "{{ response.statusCode < 400 }}" by default.
    pub response_condition: Option<String>,
    /// Encrypt the response body in the trigger outputs; false by default.
    pub encrypt_body: Option<Property<bool>>,
}

impl PluginSpec for HttpTriggerSpec {
    const KIND: Kind = Kind::Trigger;
    const TYPE: &'static str = "io.kestra.plugin.core.http.Trigger";
    const ALIASES: &'static [&'static str] = &["io.kestra.plugin.fs.http.Trigger"];
}
