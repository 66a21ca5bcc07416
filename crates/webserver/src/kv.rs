//! `/api/v1/namespaces/{namespace}/kv`: a namespace's key-value store, as Kestra serves it:
//! list the keys, read a typed value, put a value (JSON or text, `ttl` header), delete a key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::get;
use jiff::Timestamp;
use peregrine_ports::kv::{self, KvEntry, KvPut, KvValue};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::routes::{Endpoint, Reply, Route};
use crate::state::AppState;

const TAG: &str = "KV";

pub(crate) fn routes() -> Vec<Route> {
    let endpoint = |method, path, operation_id, summary, reply| Endpoint {
        method,
        path,
        operation_id,
        tag: TAG,
        summary,
        query: &[],
        body: None,
        reply,
        errors: &[404, 422],
    };
    vec![
        Route {
            endpoint: Endpoint {
                errors: &[422],
                ..endpoint(
                    Method::GET,
                    "/api/v1/namespaces/{namespace}/kv",
                    "listKeys",
                    "List the live keys of a namespace, sorted by key",
                    Reply::json("[KVEntry]"),
                )
            },
            handler: get(list),
        },
        Route {
            endpoint: endpoint(
                Method::GET,
                "/api/v1/namespaces/{namespace}/kv/{key}",
                "getKeyValue",
                "Get the value of a key, with its type",
                Reply::json("KVTypedValue"),
            ),
            handler: get(get_value),
        },
        Route {
            endpoint: Endpoint {
                body: Some("application/json"),
                errors: &[422],
                ..endpoint(
                    Method::PUT,
                    "/api/v1/namespaces/{namespace}/kv/{key}",
                    "putKeyValue",
                    "Put a value: the body is JSON (string, number, boolean, object, array), an \
                     unquoted date-time or date, or an unquoted word; the `ttl` header (ISO-8601 \
                     duration) makes it expire",
                    Reply::empty(200),
                )
            },
            handler: axum::routing::put(put),
        },
        Route {
            endpoint: Endpoint {
                errors: &[422],
                ..endpoint(
                    Method::DELETE,
                    "/api/v1/namespaces/{namespace}/kv/{key}",
                    "deleteKeyValue",
                    "Delete a key; answers whether there was one",
                    Reply::json("Boolean"),
                )
            },
            handler: axum::routing::delete(remove),
        },
    ]
}

async fn list(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let entries = state
        .options
        .kv
        .list(&namespace, None, Timestamp::now())
        .await
        .map_err(kv_error)?;
    Ok(Json(entries.iter().map(entry_json).collect()))
}

async fn get_value(
    State(state): State<AppState>,
    Path((namespace, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let record = state
        .options
        .kv
        .get(&namespace, &key, Timestamp::now())
        .await
        .map_err(kv_error)?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "No value found for key '{key}' in namespace '{namespace}'"
            ))
        })?;
    Ok(Json(json!({
        "type": record.value.kv_type().name(),
        "value": record.value.to_json(),
    })))
}

async fn put(
    State(state): State<AppState>,
    Path((namespace, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let ttl = match headers.get("ttl") {
        None => None,
        Some(header) => Some(read_ttl(header.to_str().unwrap_or_default())?),
    };
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("the value must be UTF-8 text"))?;
    let put = KvPut {
        ttl,
        ..KvPut::new(read_value(text)?)
    };
    state
        .options
        .kv
        .set(&namespace, &key, put, Timestamp::now())
        .await
        .map_err(kv_error)?;
    Ok(StatusCode::OK)
}

async fn remove(
    State(state): State<AppState>,
    Path((namespace, key)): Path<(String, String)>,
) -> Result<Json<bool>, ApiError> {
    let deleted = state
        .options
        .kv
        .delete(&namespace, &key)
        .await
        .map_err(kv_error)?;
    Ok(Json(deleted))
}

fn read_ttl(text: &str) -> Result<peregrine_model::Duration, ApiError> {
    text.trim().parse().map_err(|_| {
        ApiError::invalid(format!(
            "header 'ttl' must be an ISO-8601 duration such as PT1H, found '{text}'"
        ))
    })
}

/// Reads a body the way Kestra's Ion reader does: JSON first; else an unquoted date-time
/// (DATETIME) or date (DATE); else an unquoted or single-quoted word (STRING).
pub(crate) fn read_value(text: &str) -> Result<KvValue, ApiError> {
    let trimmed = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok(KvValue::guess(value));
    }
    if let Ok(instant) = trimmed.parse::<Timestamp>() {
        return Ok(KvValue::Datetime(instant));
    }
    if let Ok(date) = trimmed.parse::<jiff::civil::Date>() {
        return Ok(KvValue::Date(date));
    }
    let quoted = trimmed
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .filter(|inner| !inner.contains('\''));
    if let Some(inner) = quoted {
        return Ok(KvValue::String(inner.to_string()));
    }
    let mut characters = trimmed.chars();
    let is_word = characters
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if is_word {
        return Ok(KvValue::String(trimmed.to_string()));
    }
    Err(ApiError::invalid(format!(
        "Invalid JSON value for: {text} (the body is the value: JSON, such as \"text\" in quotes)"
    )))
}

/// Kestra's `KVEntry`: key, dates, and the description when there is one.
fn entry_json(entry: &KvEntry) -> Value {
    let mut object = Map::new();
    object.insert("key".into(), json!(entry.key));
    if let Some(description) = &entry.description {
        object.insert("description".into(), json!(description));
    }
    object.insert("creationDate".into(), json!(entry.created.to_string()));
    object.insert("updateDate".into(), json!(entry.updated.to_string()));
    if let Some(expires) = entry.expires {
        object.insert("expirationDate".into(), json!(expires.to_string()));
    }
    Value::Object(object)
}

/// Bad keys and values are the request's fault; the rest is the server's.
fn kv_error(error: kv::Error) -> ApiError {
    match error {
        kv::Error::InvalidKey(_)
        | kv::Error::InvalidValue { .. }
        | kv::Error::InvalidTtl(_)
        | kv::Error::AlreadyExists(_) => ApiError::invalid(error.to_string()),
        kv::Error::Corrupt { .. } | kv::Error::Storage(_) => ApiError::Internal(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bodies_as_kestra_does() {
        let typed = |text: &str| read_value(text).map(|value| (value.kv_type(), value.to_json()));
        assert_eq!(typed("\"hello\""), Ok((kv::KvType::String, json!("hello"))));
        assert_eq!(typed("42"), Ok((kv::KvType::Number, json!(42))));
        assert_eq!(typed("true"), Ok((kv::KvType::Boolean, json!(true))));
        assert_eq!(
            typed("{\"a\": [1]}"),
            Ok((kv::KvType::Json, json!({"a": [1]})))
        );
        assert_eq!(
            typed("2024-05-01T10:00:00Z"),
            Ok((kv::KvType::Datetime, json!("2024-05-01T10:00:00Z")))
        );
        assert_eq!(
            typed("2024-05-01"),
            Ok((kv::KvType::Date, json!("2024-05-01")))
        );
        assert_eq!(typed("hello"), Ok((kv::KvType::String, json!("hello"))));
        assert_eq!(
            typed("'two words'"),
            Ok((kv::KvType::String, json!("two words")))
        );
        assert!(read_value("two words").is_err());
        assert!(read_value("").is_err());
        assert!(read_ttl("PT1H").is_ok());
        assert!(read_ttl("an hour").is_err());
    }
}
