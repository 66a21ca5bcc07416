//! API errors and the one place port errors become HTTP statuses.
//!
//! Body: `{"message": "..."}`; validation failures add `errors`, one
//! `line:col: path: message` string per problem.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use peregrine_ports::repository::Error as PortError;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400.
    BadRequest(String),
    /// 404.
    NotFound(String),
    /// 422, with every problem found.
    Invalid {
        message: String,
        errors: Vec<String>,
    },
    /// 409.
    Conflict(String),
    /// 415.
    UnsupportedMediaType(String),
    /// 500.
    Internal(String),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Invalid {
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// A 422 listing problems, Kestra's way: `Invalid entity: ` then one problem a line.
    pub fn invalid_entity(errors: Vec<String>) -> Self {
        ApiError::Invalid {
            message: format!("Invalid entity: {}", errors.join("\n")),
            errors,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<PortError> for ApiError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::NotFound { .. } => ApiError::NotFound(error.to_string()),
            PortError::Invalid(message) => ApiError::invalid(message),
            PortError::Conflict(message) => ApiError::Conflict(message),
            PortError::Backend(_) => ApiError::Internal(error.to_string()),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    errors: &'a [String],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, errors): (&str, &[String]) = match &self {
            ApiError::Invalid { message, errors } => (message, errors),
            ApiError::BadRequest(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::UnsupportedMediaType(message)
            | ApiError::Internal(message) => (message, &[]),
        };
        (status, Json(ErrorBody { message, errors })).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_errors_map_to_statuses() {
        let cases = [
            (
                PortError::NotFound {
                    what: "flow",
                    id: "a.b".into(),
                },
                StatusCode::NOT_FOUND,
            ),
            (
                PortError::Invalid("bad".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (PortError::Conflict("ended".into()), StatusCode::CONFLICT),
            (
                PortError::Backend("down".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }
}
