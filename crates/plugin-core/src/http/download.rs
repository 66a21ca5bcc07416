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

impl peregrine_plugin_api::RunnableTask for DownloadSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            use peregrine_plugin_api::LogLevel;

            use super::error::Error;
            use super::filename::{extension_from_uri, name_from_disposition};

            let exchange =
                super::call::send(context, &self.request, self.allow_failed.as_ref()).await?;
            let answer = exchange.answer;
            let length = answer.body.len() as u64;
            if let Some(expected) = answer
                .header("content-length")
                .and_then(|value| value.trim().parse::<u64>().ok())
                && answer.has_body
                && expected != length
            {
                return Err(Error::Size {
                    got: length,
                    expected,
                }
                .into());
            }
            if length == 0 {
                let fail_on_empty = match &self.fail_on_empty_response {
                    Some(property) => context.render_property("failOnEmptyResponse", property)?,
                    None => true,
                };
                if fail_on_empty && !exchange.policy.allow_failed {
                    return Err(Error::Empty.into());
                }
                if !fail_on_empty {
                    context.log(LogLevel::Warn, format!("File '{}' is empty", exchange.uri));
                }
            }
            let storage = context.storage();
            let stored = match answer
                .header("content-disposition")
                .and_then(name_from_disposition)
            {
                Some(name) => storage.put_file(&name, answer.body).await?,
                None => {
                    storage
                        .put_temp_file(answer.body, &extension_from_uri(&exchange.uri))
                        .await?
                }
            };
            context.log(
                LogLevel::Debug,
                format!("File '{}' downloaded with size '{length}'", exchange.uri),
            );
            let mut outputs = serde_json::Map::new();
            outputs.insert("uri".into(), stored.into());
            outputs.insert("code".into(), answer.code.into());
            outputs.insert("length".into(), length.into());
            outputs.insert("headers".into(), answer.headers.into());
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
