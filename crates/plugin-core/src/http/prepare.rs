//! Renders the request properties shared by Request and Download into a [`Call`].

use peregrine_model::Property;
use peregrine_plugin_api::{RunContext, TaskError};
use serde_json::{Map, Value};

use super::auth::authorization;
use super::client::Call;
use super::common::HttpRequest;
use super::form::{MULTIPART, URL_ENCODED, multipart, url_encoded};

/// The body's content type when the task names none.
const DEFAULT_CONTENT_TYPE: &str = "application/json";

/// Renders a map property: a whole-map expression, or a map whose keys and values are rendered.
pub(crate) fn render_map(
    context: &RunContext,
    name: &str,
    property: Option<&Property<Map<String, Value>>>,
) -> Result<Map<String, Value>, TaskError> {
    match property {
        None => Ok(Map::new()),
        Some(Property::Value(map)) => match context.render_value(&Value::Object(map.clone()))? {
            Value::Object(rendered) => Ok(rendered),
            _ => Ok(Map::new()),
        },
        Some(expression) => context.render_property(name, expression),
    }
}

/// `contentType` with the UTF-8 charset the body is encoded in, unless it names one.
fn with_charset(content_type: &str) -> String {
    if content_type.to_ascii_lowercase().contains("charset=") {
        content_type.to_string()
    } else {
        format!("{content_type}; charset=UTF-8")
    }
}

/// Every property rendered, the body encoded (`formData` wins over `body`), the headers and
/// the authentication of `options` added.
pub(crate) async fn prepare(
    context: &RunContext,
    request: &HttpRequest,
) -> Result<Call, TaskError> {
    let uri = context.render(&request.uri)?;
    let method = match &request.method {
        Some(method) => context.render(method)?.trim().to_ascii_uppercase(),
        None => "GET".to_string(),
    };
    let mut headers = Vec::new();
    for (name, value) in render_map(context, "headers", request.headers.as_ref())? {
        match value {
            Value::Null => {}
            Value::String(text) => headers.push((name, text)),
            Value::Array(values) => {
                for value in values {
                    let text = match value {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    headers.push((name.clone(), text));
                }
            }
            other => headers.push((name, other.to_string())),
        }
    }
    let content_type = match &request.content_type {
        Some(content_type) => context.render(content_type)?,
        None => DEFAULT_CONTENT_TYPE.to_string(),
    };
    let form = render_map(context, "formData", request.form_data.as_ref())?;
    let body = if !form.is_empty() {
        if content_type.trim() == MULTIPART {
            let (multipart_type, bytes) = multipart(context, &form).await?;
            Some((multipart_type, bytes))
        } else {
            Some((URL_ENCODED.to_string(), url_encoded(&form)))
        }
    } else if let Some(body) = &request.body {
        Some((
            with_charset(&content_type),
            context.render(body)?.into_bytes(),
        ))
    } else {
        None
    };
    let mut call = Call {
        method,
        uri,
        headers,
        body: None,
    };
    if let Some((body_type, bytes)) = body {
        if !call.has_header("content-type") {
            call.headers.push(("Content-Type".to_string(), body_type));
        }
        call.body = Some(bytes);
    }
    if let Some(value) = authorization(context, request.options.as_ref())? {
        call.headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
        call.headers.push(("Authorization".to_string(), value));
    }
    Ok(call)
}
