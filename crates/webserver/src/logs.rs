//! `/api/v1/logs`: the log lines of an execution, as JSON, as a text file, or followed live.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::repository::LogQuery;

use crate::error::ApiError;
use crate::params::Params;
use crate::routes::{Endpoint, QueryParam, Reply, Route};
use crate::sse;
use crate::state::AppState;

const TAG: &str = "Logs";
const FILTERS: &[QueryParam] = &[
    QueryParam::new(
        "minLevel",
        "string",
        "The lowest level: TRACE, DEBUG, INFO, WARN, ERROR",
    ),
    QueryParam::new("taskRunId", "string", "Only the lines of this task run"),
    QueryParam::new("taskId", "string", "Only the lines of this task"),
];

pub(crate) fn routes() -> Vec<Route> {
    let endpoint = |path, operation_id, summary, reply| Endpoint {
        method: Method::GET,
        path,
        operation_id,
        tag: TAG,
        summary,
        query: FILTERS,
        body: None,
        reply,
        errors: &[422],
    };
    vec![
        Route {
            endpoint: endpoint(
                "/api/v1/logs/{executionId}",
                "listLogsFromExecution",
                "The log lines of an execution, oldest first",
                Reply::json("[LogEntry]"),
            ),
            handler: get(list),
        },
        Route {
            endpoint: endpoint(
                "/api/v1/logs/{executionId}/download",
                "downloadLogsFromExecution",
                "The log lines of an execution as text, one `timestamp LEVEL message` a line",
                Reply::media("text/plain", "LogText"),
            ),
            handler: get(download),
        },
        Route {
            endpoint: Endpoint {
                query: &FILTERS[..1],
                errors: &[404, 422],
                ..endpoint(
                    "/api/v1/logs/{executionId}/follow",
                    "followLogsFromExecution",
                    "Follow the log lines of an execution (id: progress, data: a line) until it ends",
                    Reply::media("text/event-stream", "LogEntry"),
                )
            },
            handler: get(follow),
        },
    ]
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    let query = log_query(id, &params)?;
    Ok(Json(state.options.logs.find(&query).await?))
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let query = log_query(id.clone(), &params)?;
    let lines = state.options.logs.find(&query).await?;
    let mut text = String::new();
    for line in &lines {
        text.push_str(&pretty(line));
        text.push('\n');
    }
    let disposition = format!("attachment; filename=\"{id}.log\"");
    Ok((
        [
            (CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        text,
    ))
}

async fn follow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    let query = LogQuery {
        execution_id: Some(id.clone()),
        min_level: min_level(&params)?,
        ..LogQuery::default()
    };
    let updates = state.options.commands.follow(&id).await?;
    let events = sse::log_events(
        state.options.logs.clone(),
        query,
        updates,
        state.stopping().clone(),
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn log_query(execution_id: String, params: &Params) -> Result<LogQuery, ApiError> {
    Ok(LogQuery {
        execution_id: Some(execution_id),
        task_run_id: params.get("taskRunId").map(str::to_string),
        task_id: params.get("taskId").map(str::to_string),
        min_level: min_level(params)?,
    })
}

fn min_level(params: &Params) -> Result<Option<LogLevel>, ApiError> {
    let Some(name) = params.get("minLevel") else {
        return Ok(None);
    };
    match name.to_ascii_uppercase().as_str() {
        "TRACE" | "DEBUG" | "INFO" | "WARN" | "WARNING" | "ERROR" => {
            Ok(Some(LogLevel::parse(name)))
        }
        _ => Err(ApiError::invalid(format!(
            "query parameter 'minLevel' must be TRACE, DEBUG, INFO, WARN or ERROR, found '{name}'"
        ))),
    }
}

/// Kestra's `LogEntry.toPrettyString`: `timestamp LEVEL message`.
fn pretty(line: &LogEntry) -> String {
    let level = serde_json::to_value(line.level)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("{} {level} {}", line.timestamp, line.message)
}
