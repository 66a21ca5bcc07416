//! The multipart forms of execution starts and resumes: each text part is an input (a repeated
//! name gives a list), each file part a file for a FILE input.
//!
//! File parts are named like Kestra's: a part named `files` carries the input id as its file
//! name (Kestra's UI and tests send them so); any other file part is for the input it is named
//! after, and keeps the name of the file sent.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use peregrine_ports::repository::InputFile;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// The largest request body read when it is not a multipart form (a form-less start).
const SMALL_BODY: usize = 64 * 1024;
/// The name of the parts whose file name is the input id.
const FILES_PART: &str = "files";

/// What a form holds.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub inputs: Map<String, Value>,
    pub files: Vec<InputFile>,
}

/// The form of a request; `None` without a body.
pub(crate) async fn read_form(
    state: &AppState,
    request: Request,
) -> Result<Option<Form>, ApiError> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("multipart/form-data") {
        let body = axum::body::to_bytes(request.into_body(), SMALL_BODY)
            .await
            .map_err(|error| ApiError::invalid(format!("cannot read the request body: {error}")))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        return Err(ApiError::UnsupportedMediaType(format!(
            "inputs must be sent as multipart/form-data, not '{content_type}'"
        )));
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|error| ApiError::invalid(error.body_text()))?;
    let mut form = Form::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| ApiError::invalid(error.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(sent_name) = field.file_name().map(str::to_string) {
            let (input, file_name) = if name == FILES_PART {
                (sent_name, String::new())
            } else {
                (name, base_name(&sent_name).to_string())
            };
            let bytes = field
                .bytes()
                .await
                .map_err(|error| ApiError::invalid(error.body_text()))?;
            if bytes.is_empty() {
                return Err(ApiError::invalid(format!(
                    "input '{input}': cannot upload an empty file"
                )));
            }
            form.files.push(InputFile {
                input,
                file_name,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|error| ApiError::invalid(error.body_text()))?;
        match form.inputs.get_mut(&name) {
            Some(Value::Array(values)) => values.push(Value::String(text)),
            Some(first) => *first = json!([first.take(), text]),
            None => {
                form.inputs.insert(name, Value::String(text));
            }
        }
    }
    Ok(Some(form))
}

/// The last segment of a file name sent with a path (browsers may send `C:\dir\a.csv`).
fn base_name(sent: &str) -> &str {
    sent.rsplit(['/', '\\']).next().unwrap_or(sent)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_last_segment_of_a_sent_file_name() {
        assert_eq!(super::base_name("C:\\data\\a.csv"), "a.csv");
        assert_eq!(super::base_name("dir/b.txt"), "b.txt");
        assert_eq!(super::base_name("c.txt"), "c.txt");
    }
}
