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

impl peregrine_plugin_api::RunnableTask for RequestSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            let exchange =
                super::call::send(context, &self.request, self.allow_failed.as_ref()).await?;
            let answer = exchange.answer;
            let mut outputs = serde_json::Map::new();
            outputs.insert("uri".into(), exchange.uri.into());
            outputs.insert("code".into(), answer.code.into());
            outputs.insert("headers".into(), answer.headers.into());
            // `encryptBody` is not applied: the body is always given as text.
            if answer.has_body {
                let body = String::from_utf8_lossy(&answer.body).into_owned();
                outputs.insert("body".into(), body.into());
            }
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
