//! One HTTP exchange on `ureq`: a blocking call run on tokio's blocking pool, stopped when the
//! task is killed or its future is dropped (the task's own `timeout`).

use std::io::Read;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use ureq::http;

use super::error::Error;

/// A request ready to send: every property rendered, the body encoded.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Call {
    /// True when the request already carries header `name` (names are compared without case).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(header, _)| header.eq_ignore_ascii_case(name))
    }
}

/// How the client connects, from the task's `options`.
#[derive(Clone, Debug)]
pub(crate) struct ClientSettings {
    pub connect_timeout: Option<Duration>,
    /// The longest wait for the next bytes of the response (headers or body).
    pub read_idle_timeout: Option<Duration>,
    pub follow_redirects: bool,
    pub proxy: Option<ureq::Proxy>,
    pub trust_all_certificates: bool,
}

/// A response and its whole body.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub code: u16,
    /// Header names in lower case, each with its values in the order received.
    pub headers: Map<String, Value>,
    pub body: Vec<u8>,
    /// False when the response has no body at all (204, 304, a HEAD request), as opposed to an
    /// empty one.
    pub has_body: bool,
}

impl Answer {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|values| values.get(0))
            .and_then(Value::as_str)
    }
}

/// Redirects followed before giving up, as Apache's client (Kestra's) does.
const MAX_REDIRECTS: u32 = 50;
/// Bytes read at once; cancellation is checked between reads.
const CHUNK_BYTES: usize = 64 * 1024;

/// Sends `call` and reads the whole response. Returns [`Error::Killed`] as soon as `cancel` is
/// cancelled; the blocking reader stops at its next read.
pub(crate) async fn exchange(
    call: Call,
    settings: ClientSettings,
    cancel: &CancellationToken,
) -> Result<Answer, Error> {
    let stop = cancel.child_token();
    // Dropping this future (a task timeout) stops the reader too.
    let _stop_when_dropped = stop.clone().drop_guard();
    let reader_stop = stop.clone();
    let mut work =
        tokio::task::spawn_blocking(move || exchange_blocking(&call, &settings, &reader_stop));
    tokio::select! {
        joined = &mut work => joined.map_err(|error| Error::Client(error.to_string()))?,
        () = stop.cancelled() => Err(Error::Killed),
    }
}

fn agent(settings: &ClientSettings) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .user_agent("Kestra")
        .timeout_connect(settings.connect_timeout)
        .timeout_per_read(settings.read_idle_timeout)
        .proxy(settings.proxy.clone());
    config = if settings.follow_redirects {
        config.max_redirects(MAX_REDIRECTS)
    } else {
        config.max_redirects(0).max_redirects_will_error(false)
    };
    if settings.trust_all_certificates {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build(),
        );
    }
    config.build().new_agent()
}

fn exchange_blocking(
    call: &Call,
    settings: &ClientSettings,
    stop: &CancellationToken,
) -> Result<Answer, Error> {
    let invalid = |message: String| Error::InvalidRequest {
        uri: call.uri.clone(),
        message,
    };
    let mut builder = http::Request::builder()
        .method(call.method.as_str())
        .uri(call.uri.as_str());
    for (name, value) in &call.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let agent = agent(settings);
    let transport = |source: ureq::Error| Error::Transport {
        uri: call.uri.clone(),
        source,
    };
    let response = match &call.body {
        Some(bytes) => {
            let request = builder
                .body(bytes.as_slice())
                .map_err(|error| invalid(error.to_string()))?;
            agent.run(request)
        }
        None => {
            let request = builder
                .body(())
                .map_err(|error| invalid(error.to_string()))?;
            agent.run(request)
        }
    }
    .map_err(transport)?;
    let code = response.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if let Value::Array(values) = headers
            .entry(name.as_str().to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(Value::String(text));
        }
    }
    let without_body = call.method == "HEAD" || code == 204 || code == 304 || code < 200;
    let mut reader = response.into_body().into_with_config().reader();
    let mut body = Vec::new();
    let mut chunk = vec![0; CHUNK_BYTES];
    loop {
        if stop.is_cancelled() {
            return Err(Error::Killed);
        }
        let read = reader
            .read(&mut chunk)
            .map_err(|error| transport(ureq::Error::from(error)))?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    let has_body = !without_body
        && (!body.is_empty()
            || headers.contains_key("content-length")
            || headers.contains_key("transfer-encoding"));
    Ok(Answer {
        code,
        headers,
        body,
        has_body,
    })
}
