//! The request properties shared by Request, Download and the HTTP Trigger.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::options::{HttpOptions, SslOptions};

/// One HTTP request.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// The URL to call.
    pub uri: String,
    /// The HTTP method; GET by default.
    pub method: Option<String>,
    /// The request body.
    pub body: Option<String>,
    /// Form fields, sent as `application/x-www-form-urlencoded` or multipart.
    pub form_data: Option<Property<Map<String, Value>>>,
    /// The request content type; application/json by default.
    pub content_type: Option<String>,
    /// Request headers.
    pub headers: Option<Property<Map<String, Value>>>,
    /// Options of the HTTP client (timeouts, proxy, authentication...).
    pub options: Option<HttpOptions>,
    /// Deprecated: use `options.ssl`.
    pub ssl_options: Option<SslOptions>,
}
