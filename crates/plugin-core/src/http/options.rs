//! The `options` and `sslOptions` of HTTP tasks: Kestra's HttpConfiguration, with the deprecated
//! flat properties of its older RequestOptions still accepted.

use peregrine_model::{Duration, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Timeouts of an HTTP call.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpTimeouts {
    /// The time allowed to connect.
    pub connect_timeout: Option<Property<Duration>>,
    /// The time a connection may stay idle while reading; 5 minutes by default.
    pub read_idle_timeout: Option<Property<Duration>>,
}

/// The kind of proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProxyType {
    Direct,
    Http,
    Socks,
}

/// A proxy to go through.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpProxy {
    /// DIRECT (no proxy, the default), HTTP or SOCKS.
    #[serde(rename = "type")]
    pub proxy_type: Option<Property<ProxyType>>,
    pub address: Option<String>,
    pub port: Option<Property<u16>>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// The authentication scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    Basic,
    Bearer,
}

/// Authentication: BASIC with `username`/`password`, or BEARER with `token`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpAuth {
    #[serde(rename = "type")]
    pub auth_type: AuthType,
    pub username: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

/// TLS settings.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SslOptions {
    /// Trust every server certificate (self-signed ones included).
    pub insecure_trust_all_certificates: Option<Property<bool>>,
}

/// What the HTTP client logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HttpLogging {
    RequestHeaders,
    RequestBody,
    ResponseHeaders,
    ResponseBody,
}

/// Options of the HTTP client.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpOptions {
    pub timeout: Option<HttpTimeouts>,
    pub proxy: Option<HttpProxy>,
    pub auth: Option<HttpAuth>,
    pub ssl: Option<SslOptions>,
    /// Follow redirects; true by default.
    pub follow_redirects: Option<Property<bool>>,
    /// Do not fail on a 4xx or 5xx response; false by default.
    pub allow_failed: Option<Property<bool>>,
    /// The response codes taken as a success (instead of any code below 400).
    pub allowed_response_codes: Option<Property<Vec<u16>>>,
    /// The charset used when the response does not give one; UTF-8 by default.
    pub default_charset: Option<String>,
    /// What to log of the request and the response.
    pub logs: Option<Vec<HttpLogging>>,
    /// Deprecated: use `timeout.connectTimeout`.
    pub connect_timeout: Option<Property<Duration>>,
    /// Deprecated: the maximum time to read the response.
    pub read_timeout: Option<Property<Duration>>,
    /// Deprecated: use `timeout.readIdleTimeout`.
    pub read_idle_timeout: Option<Property<Duration>>,
    /// Deprecated: the idle time before a pooled connection is closed.
    pub connection_pool_idle_timeout: Option<Property<Duration>>,
    /// Deprecated: the maximum size of a response body.
    pub max_content_length: Option<Property<i64>>,
    /// Deprecated: use `proxy.type`.
    pub proxy_type: Option<Property<ProxyType>>,
    /// Deprecated: use `proxy.address`.
    pub proxy_address: Option<String>,
    /// Deprecated: use `proxy.port`.
    pub proxy_port: Option<Property<u16>>,
    /// Deprecated: use `proxy.username`.
    pub proxy_username: Option<String>,
    /// Deprecated: use `proxy.password`.
    pub proxy_password: Option<String>,
    /// Deprecated: use `auth`.
    pub basic_auth_user: Option<String>,
    /// Deprecated: use `auth`.
    pub basic_auth_password: Option<String>,
    /// Deprecated: use `logs`.
    pub log_level: Option<String>,
}
