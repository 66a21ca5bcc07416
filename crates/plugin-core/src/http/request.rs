//! Request: makes an HTTP request and returns the response.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::HttpRequest;
use crate::runnable;

/// Calls a URL; the response code, headers and body become outputs.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestSpec {
    #[serde(flatten)]
    pub request: HttpRequest,
    /// Do not fail on a 4xx or 5xx response; false by default.
    pub allow_failed: Option<Property<bool>>,
    /// Encrypt the response body in the outputs; false by default.
    pub encrypt_body: Option<Property<bool>>,
}
runnable!(
    RequestSpec,
    "http.Request",
    "io.kestra.plugin.fs.http.Request"
);
