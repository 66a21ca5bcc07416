//! Download: downloads a URL to an internal storage file.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::HttpRequest;
use crate::runnable;

/// Downloads the response body of a URL to internal storage.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DownloadSpec {
    #[serde(flatten)]
    pub request: HttpRequest,
    /// Do not fail on a 4xx or 5xx response; false by default.
    pub allow_failed: Option<Property<bool>>,
    /// Fail when the response is empty; true by default.
    pub fail_on_empty_response: Option<Property<bool>>,
}
runnable!(
    DownloadSpec,
    "http.Download",
    "io.kestra.plugin.fs.http.Download"
);
