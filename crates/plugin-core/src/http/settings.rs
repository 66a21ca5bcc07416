//! The client settings, response policy and logging of an HTTP task, read from its `options`
//! (Kestra's HttpConfiguration) with the deprecated flat properties mapped as Kestra maps them.

use std::time::Duration;

use peregrine_model::{Duration as IsoDuration, Property};
use peregrine_plugin_api::{RunContext, TaskError};

use super::client::{Answer, ClientSettings};
use super::common::HttpRequest;
use super::error::Error;
use super::options::{HttpLogging, HttpOptions, ProxyType};

/// How long the client waits for the next bytes of a response when nothing says otherwise.
const DEFAULT_READ_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Everything the options decide about one call.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub client: ClientSettings,
    pub policy: ResponsePolicy,
    pub logs: Vec<HttpLogging>,
}

/// Which response codes the task accepts.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ResponsePolicy {
    pub allow_failed: bool,
    /// When not empty, exactly these codes are accepted.
    pub allowed_codes: Vec<u16>,
}

impl ResponsePolicy {
    pub fn accepts(&self, code: u16) -> bool {
        if !self.allowed_codes.is_empty() {
            return self.allowed_codes.contains(&code);
        }
        self.allow_failed || code < 400
    }

    /// Kestra's failure for a response it does not accept, with the body when there is one.
    pub fn check(&self, answer: &Answer) -> Result<(), Error> {
        if self.accepts(answer.code) {
            return Ok(());
        }
        Err(Error::Status {
            code: answer.code,
            body: answer
                .has_body
                .then(|| String::from_utf8_lossy(&answer.body).into_owned()),
        })
    }
}

impl Settings {
    /// Reads the options of `request`; `allow_failed` is the task's deprecated top-level
    /// property, which wins over `options.allowFailed` as in Kestra.
    pub fn read(
        context: &RunContext,
        request: &HttpRequest,
        allow_failed: Option<&Property<bool>>,
    ) -> Result<Self, TaskError> {
        let options = request.options.as_ref();
        let allow_failed = match allow_failed.or(options.and_then(|o| o.allow_failed.as_ref())) {
            Some(property) => context.render_property("allowFailed", property)?,
            None => false,
        };
        let allowed_codes = match options.and_then(|o| o.allowed_response_codes.as_ref()) {
            Some(property) => context.render_property("options.allowedResponseCodes", property)?,
            None => Vec::new(),
        };
        let trust_all = options
            .and_then(|o| o.ssl.as_ref())
            .or(request.ssl_options.as_ref())
            .and_then(|ssl| ssl.insecure_trust_all_certificates.as_ref());
        let trust_all_certificates = match trust_all {
            Some(property) => context.render_property("insecureTrustAllCertificates", property)?,
            None => false,
        };
        let follow_redirects = match options.and_then(|o| o.follow_redirects.as_ref()) {
            Some(property) => context.render_property("options.followRedirects", property)?,
            None => true,
        };
        Ok(Self {
            client: ClientSettings {
                connect_timeout: connect_timeout(context, options)?,
                read_idle_timeout: Some(
                    read_idle_timeout(context, options)?.unwrap_or(DEFAULT_READ_IDLE_TIMEOUT),
                ),
                follow_redirects,
                proxy: proxy(context, options)?,
                trust_all_certificates,
            },
            policy: ResponsePolicy {
                allow_failed,
                allowed_codes,
            },
            logs: logs(options),
        })
    }
}

fn duration(
    context: &RunContext,
    name: &str,
    property: Option<&Property<IsoDuration>>,
) -> Result<Option<Duration>, TaskError> {
    property
        .map(|property| {
            context
                .render_property(name, property)
                .map(IsoDuration::as_std)
        })
        .transpose()
}

fn connect_timeout(
    context: &RunContext,
    options: Option<&HttpOptions>,
) -> Result<Option<Duration>, TaskError> {
    let Some(options) = options else {
        return Ok(None);
    };
    let nested = options
        .timeout
        .as_ref()
        .and_then(|t| t.connect_timeout.as_ref());
    duration(
        context,
        "options.timeout.connectTimeout",
        nested.or(options.connect_timeout.as_ref()),
    )
}

/// `timeout.readIdleTimeout`, else the deprecated `readTimeout` (which Kestra maps to it), else
/// the deprecated flat `readIdleTimeout`.
fn read_idle_timeout(
    context: &RunContext,
    options: Option<&HttpOptions>,
) -> Result<Option<Duration>, TaskError> {
    let Some(options) = options else {
        return Ok(None);
    };
    let nested = options
        .timeout
        .as_ref()
        .and_then(|t| t.read_idle_timeout.as_ref());
    duration(
        context,
        "options.timeout.readIdleTimeout",
        nested
            .or(options.read_timeout.as_ref())
            .or(options.read_idle_timeout.as_ref()),
    )
}

fn render_text(context: &RunContext, text: Option<&String>) -> Result<Option<String>, TaskError> {
    text.map(|text| context.render(text)).transpose()
}

/// The proxy of `options.proxy` (or the deprecated flat `proxy*` properties); none without an
/// address or for the DIRECT type, Kestra's default.
fn proxy(
    context: &RunContext,
    options: Option<&HttpOptions>,
) -> Result<Option<ureq::Proxy>, TaskError> {
    let Some(options) = options else {
        return Ok(None);
    };
    let nested = options.proxy.as_ref();
    let address = render_text(
        context,
        nested
            .and_then(|p| p.address.as_ref())
            .or(options.proxy_address.as_ref()),
    )?;
    let Some(address) = address.filter(|address| !address.is_empty()) else {
        return Ok(None);
    };
    let kind = match nested
        .and_then(|p| p.proxy_type.as_ref())
        .or(options.proxy_type.as_ref())
    {
        Some(property) => context.render_property("options.proxy.type", property)?,
        None => ProxyType::Direct,
    };
    let scheme = match kind {
        ProxyType::Direct => return Ok(None),
        ProxyType::Http => "http",
        ProxyType::Socks => "socks5",
    };
    let port = match nested
        .and_then(|p| p.port.as_ref())
        .or(options.proxy_port.as_ref())
    {
        Some(property) => context.render_property("options.proxy.port", property)?,
        None => {
            return Err(TaskError::Property {
                property: "options.proxy.port".into(),
                message: "a proxy address needs a port".into(),
            });
        }
    };
    let username = render_text(
        context,
        nested
            .and_then(|p| p.username.as_ref())
            .or(options.proxy_username.as_ref()),
    )?;
    let password = render_text(
        context,
        nested
            .and_then(|p| p.password.as_ref())
            .or(options.proxy_password.as_ref()),
    )?;
    let credentials = match (username, password) {
        (Some(user), Some(password)) => format!(
            "{}:{}@",
            super::form::percent_encode(&user),
            super::form::percent_encode(&password)
        ),
        _ => String::new(),
    };
    ureq::Proxy::new(&format!("{scheme}://{credentials}{address}:{port}"))
        .map(Some)
        .map_err(|error| TaskError::Property {
            property: "options.proxy".into(),
            message: error.to_string(),
        })
}

/// `options.logs`, else what the deprecated `logLevel` stood for.
fn logs(options: Option<&HttpOptions>) -> Vec<HttpLogging> {
    let Some(options) = options else {
        return Vec::new();
    };
    if let Some(logs) = &options.logs {
        return logs.clone();
    }
    match options
        .log_level
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("TRACE") => vec![
            HttpLogging::RequestHeaders,
            HttpLogging::RequestBody,
            HttpLogging::ResponseHeaders,
            HttpLogging::ResponseBody,
        ],
        Some("DEBUG") => vec![HttpLogging::RequestHeaders, HttpLogging::ResponseHeaders],
        Some("INFO") => vec![HttpLogging::ResponseHeaders],
        _ => Vec::new(),
    }
}
