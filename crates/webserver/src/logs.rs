//! `/api/v1/logs`: log lines searched across executions, and the lines of one execution as JSON,
//! as a text file, or followed live.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use jiff::Timestamp;
use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::repository::{LogPaging, LogQuery, Page};

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
const SEARCH_QUERY: &[QueryParam] = &[
    QueryParam::new("page", "integer", "The page, from 1 (default 1)"),
    QueryParam::new("size", "integer", "Lines per page (default 10)"),
    QueryParam::new(
        "sort",
        "string",
        "timestamp:desc (default, newest first) or timestamp:asc",
    ),
    QueryParam::new("q", "string", "Text to find in the message, without case"),
    QueryParam::new("namespace", "string", "The namespace or one of its parents"),
    QueryParam::new("flowId", "string", "Only the lines of this flow"),
    QueryParam::new(
        "minLevel",
        "string",
        "The lowest level: TRACE, DEBUG, INFO, WARN, ERROR",
    ),
    QueryParam::new(
        "startDate",
        "string",
        "Lines written at or after this ISO 8601 instant",
    ),
    QueryParam::new(
        "endDate",
        "string",
        "Lines written at or before this ISO 8601 instant",
    ),
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
            endpoint: Endpoint {
                query: SEARCH_QUERY,
                ..endpoint(
                    "/api/v1/logs/search",
                    "searchLogs",
                    "Search log lines across executions, newest first",
                    Reply::json("PagedLogs"),
                )
            },
            handler: get(search),
        },
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

async fn search(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Page<LogEntry>>, ApiError> {
    let (page, size) = params.paging()?;
    let oldest_first = match params.get("sort") {
        None | Some("timestamp:desc") => false,
        Some("timestamp:asc") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "query parameter 'sort' must be timestamp:asc or timestamp:desc, found '{other}'"
            )));
        }
    };
    let query = LogQuery {
        min_level: min_level(&params)?,
        namespace: params.get("namespace").map(str::to_string),
        flow_id: params.get("flowId").map(str::to_string),
        text: params.get("q").map(str::to_string),
        from: instant(&params, "startDate")?,
        to: instant(&params, "endDate")?,
        ..LogQuery::default()
    };
    let paging = LogPaging {
        page,
        size,
        oldest_first,
    };
    Ok(Json(state.options.logs.page(&query, paging).await?))
}

/// An ISO 8601 instant with an offset (`2026-01-02T03:04:05Z`, `...+01:00`) or a zoned
/// date-time as Kestra writes them (`...+01:00[Europe/Paris]`).
fn instant(params: &Params, name: &str) -> Result<Option<Timestamp>, ApiError> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    // The offset fixes the instant; a zone name after it adds nothing.
    let instant = text.split_once('[').map_or(text, |(instant, _)| instant);
    instant.parse::<Timestamp>().map(Some).map_err(|_| {
        ApiError::invalid(format!(
            "query parameter '{name}' must be an ISO 8601 date-time with an offset, found '{text}'"
        ))
    })
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
        ..LogQuery::default()
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
