//! Request bodies built from `formData`: URL-encoded fields, or multipart parts where internal
//! storage files become file parts.

use peregrine_plugin_api::{RunContext, TaskError};
use serde_json::{Map, Value};

/// The content type of URL-encoded form data, as Apache's client (Kestra's) sends it.
pub(crate) const URL_ENCODED: &str = "application/x-www-form-urlencoded; charset=UTF-8";
/// The content type that asks for a multipart body.
pub(crate) const MULTIPART: &str = "multipart/form-data";

/// Encodes like `application/x-www-form-urlencoded` (Java's URLEncoder): letters, digits and
/// `.-*_` are kept, a space becomes `+`, every other byte of the UTF-8 text `%XX`.
pub(crate) fn form_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                encoded.push(char::from(byte));
            }
            b' ' => encoded.push('+'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// Encodes for the user part of a URI: unreserved characters kept, every other byte `%XX`.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                encoded.push(char::from(byte));
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// A field as text: strings as they are, anything else as JSON.
fn field_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `name=value&...`, in the order the fields were written.
pub(crate) fn url_encoded(fields: &Map<String, Value>) -> Vec<u8> {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(&field_text(value))))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// One part of a multipart body.
struct Part {
    name: String,
    file_name: Option<String>,
    content: Vec<u8>,
}

/// A multipart body and its content type (with the boundary). A `kestra:///` string becomes a
/// file part with that file's content; `{name, content}` a file part named `name` with the
/// content of the file at `content`; other strings text parts; anything else JSON text.
pub(crate) async fn multipart(
    context: &RunContext,
    fields: &Map<String, Value>,
) -> Result<(String, Vec<u8>), TaskError> {
    let mut parts = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        let part = match value {
            Value::String(uri) if uri.starts_with("kestra://") => Part {
                name: name.clone(),
                file_name: Some(uri.rsplit('/').next().unwrap_or_default().to_string()),
                content: context.storage().get_file(uri).await?,
            },
            Value::Object(file) if file.contains_key("name") && file.contains_key("content") => {
                let uri = file.get("content").map(field_text).unwrap_or_default();
                Part {
                    name: name.clone(),
                    file_name: file.get("name").map(field_text),
                    content: context.storage().get_file(&uri).await?,
                }
            }
            other => Part {
                name: name.clone(),
                file_name: None,
                content: field_text(other).into_bytes(),
            },
        };
        parts.push(part);
    }
    let boundary = boundary(&parts);
    let mut body = Vec::new();
    for part in &parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let name = quoted(&part.name);
        let head = match &part.file_name {
            Some(file_name) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n",
                quoted(file_name)
            ),
            None => format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\
                 Content-Type: text/plain; charset=UTF-8\r\n\r\n"
            ),
        };
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(&part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("{MULTIPART}; boundary={boundary}"), body))
}

/// A name inside a quoted header parameter: quotes and line breaks escaped as browsers do.
fn quoted(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A boundary found in none of the parts.
fn boundary(parts: &[Part]) -> String {
    let mut attempt: u64 = 0;
    loop {
        let candidate = format!("peregrine-boundary-{attempt:016x}");
        let used = parts.iter().any(|part| {
            part.content
                .windows(candidate.len())
                .any(|window| window == candidate.as_bytes())
        });
        if !used {
            return candidate;
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_form_fields_like_java() {
        assert_eq!(form_encode("John Doe & co/é"), "John+Doe+%26+co%2F%C3%A9");
        let fields = json!({"user": "a b", "n": 3})
            .as_object()
            .cloned()
            .expect("an object");
        assert_eq!(url_encoded(&fields), b"user=a+b&n=3".to_vec());
        assert_eq!(percent_encode("p@ss word"), "p%40ss%20word");
    }
}
