//! Why an HTTP call did not give a usable response.

use peregrine_plugin_api::TaskError;

/// A failed HTTP call, with Kestra's messages where a flow may match on them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid uri '{uri}': {message}")]
    InvalidUri { uri: String, message: String },
    #[error("invalid request to '{uri}': {message}")]
    InvalidRequest { uri: String, message: String },
    #[error("request to '{uri}' failed: {source}")]
    Transport {
        uri: String,
        #[source]
        source: ureq::Error,
    },
    /// The response code is not one the task accepts.
    #[error("Failed http request with response code '{code}'{}", body_suffix(.body.as_deref()))]
    Status { code: u16, body: Option<String> },
    #[error("Invalid size, got {got}, expected {expected}")]
    Size { got: u64, expected: u64 },
    #[error("No response from server")]
    Empty,
    #[error("the HTTP client stopped unexpectedly: {0}")]
    Client(String),
    #[error("killed")]
    Killed,
}

fn body_suffix(body: Option<&str>) -> String {
    body.map(|body| format!(" and body:\n{body}"))
        .unwrap_or_default()
}

impl From<Error> for TaskError {
    fn from(error: Error) -> Self {
        match error {
            Error::Killed => TaskError::Killed,
            other => TaskError::Failed(other.to_string()),
        }
    }
}
