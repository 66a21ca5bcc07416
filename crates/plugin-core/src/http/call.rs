//! One call of an HTTP task: render the request, read the options, log what `options.logs`
//! asks for, send, and check the response code.

use peregrine_model::Property;
use peregrine_plugin_api::{LogLevel, RunContext, TaskError};
use serde_json::Value;

use super::client::{Answer, Call, exchange};
use super::common::HttpRequest;
use super::options::HttpLogging;
use super::prepare::prepare;
use super::settings::{ResponsePolicy, Settings};

/// The outcome of a call the task accepts.
#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    /// The rendered request URI.
    pub uri: String,
    pub answer: Answer,
    pub policy: ResponsePolicy,
}

/// Sends the request of a task; `allow_failed` is its deprecated top-level property.
pub(crate) async fn send(
    context: &RunContext,
    request: &HttpRequest,
    allow_failed: Option<&Property<bool>>,
) -> Result<Exchange, TaskError> {
    let settings = Settings::read(context, request, allow_failed)?;
    let call = prepare(context, request).await?;
    log_request(context, &settings.logs, &call);
    let uri = call.uri.clone();
    let answer = exchange(call, settings.client, &context.cancel).await?;
    log_response(context, &settings.logs, &answer);
    context.log(
        LogLevel::Debug,
        format!("Request '{uri}' with the response code '{}'", answer.code),
    );
    settings.policy.check(&answer)?;
    Ok(Exchange {
        uri,
        answer,
        policy: settings.policy,
    })
}

fn headers_entry<'a>(kind: &str, headers: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let lines: Vec<String> = headers
        .map(|(name, value)| format!("\n    {name}: {value}"))
        .collect();
    if lines.is_empty() {
        format!("{kind} headers: null")
    } else {
        format!("{kind} headers:{}", lines.concat())
    }
}

fn payload_entry(kind: &str, body: Option<&[u8]>) -> String {
    match body {
        Some(bytes) => format!("{kind} payload:\n    {}", String::from_utf8_lossy(bytes)),
        None => format!("{kind} payload: null"),
    }
}

fn log_request(context: &RunContext, logs: &[HttpLogging], call: &Call) {
    if logs.contains(&HttpLogging::RequestHeaders) {
        context.log(
            LogLevel::Debug,
            format!(
                "request:\n    method: {}\n    uri: {}",
                call.method, call.uri
            ),
        );
        let headers = call
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        context.log(LogLevel::Debug, headers_entry("request", headers));
    }
    if logs.contains(&HttpLogging::RequestBody) {
        context.log(
            LogLevel::Trace,
            payload_entry("request", call.body.as_deref()),
        );
    }
}

fn log_response(context: &RunContext, logs: &[HttpLogging], answer: &Answer) {
    if logs.contains(&HttpLogging::ResponseHeaders) {
        context.log(
            LogLevel::Debug,
            format!("response:\n    status: {}", answer.code),
        );
        let headers = answer.headers.iter().flat_map(|(name, values)| {
            values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(move |value| (name.as_str(), value))
        });
        context.log(LogLevel::Debug, headers_entry("response", headers));
    }
    if logs.contains(&HttpLogging::ResponseBody) {
        let body = answer.has_body.then_some(answer.body.as_slice());
        context.log(LogLevel::Trace, payload_entry("response", body));
    }
}
