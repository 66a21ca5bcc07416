//! `/api/v1/executions`: start an execution (multipart inputs), read and search executions,
//! follow one over server-sent events, kill, resume, delete.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{delete, get, post};
use futures_util::Stream;
use peregrine_model::execution::Execution;
use peregrine_model::flow::Label;
use peregrine_model::state::State as ExecutionState;
use peregrine_ports::repository::{ExecutionQuery, StartRequest};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::form::read_form;
use crate::params::Params;
use crate::routes::{Endpoint, QueryParam, Reply, Route};
use crate::sse;
use crate::state::AppState;

pub(crate) const TAG: &str = "Executions";
/// The largest form accepted: files are moved whole, up to internal storage's object limit.
const LARGEST_FORM: usize = peregrine_ports::storage::MAX_OBJECT_BYTES as usize;

const CREATE_QUERY: &[QueryParam] = &[
    QueryParam::new("labels", "string", "A label as key:value").repeated(),
    QueryParam::new("wait", "boolean", "Answer once the execution has ended"),
    QueryParam::new(
        "revision",
        "integer",
        "The flow revision (default: the latest)",
    ),
];
const REPLAY_QUERY: &[QueryParam] = &[
    QueryParam::new(
        "taskRunId",
        "string",
        "The task run to run again from (default: from the start)",
    ),
    QueryParam::new(
        "revision",
        "integer",
        "The flow revision the new execution runs (default: the one the replayed execution ran)",
    ),
];
const SEARCH_QUERY: &[QueryParam] = &[
    QueryParam::new("namespace", "string", "A namespace or one of its parents"),
    QueryParam::new("flowId", "string", "A flow id"),
    QueryParam::new("state", "string", "A state (SUCCESS, FAILED...)").repeated(),
    QueryParam::new("page", "integer", "The page, from 1 (default 1)"),
    QueryParam::new("size", "integer", "The page size (default 10)"),
];

pub(crate) fn routes() -> Vec<Route> {
    let endpoint = |method, path, operation_id, summary| Endpoint {
        method,
        path,
        operation_id,
        tag: TAG,
        summary,
        query: &[],
        body: None,
        reply: Reply::json("Execution"),
        errors: &[404],
    };
    vec![
        Route {
            endpoint: Endpoint {
                query: CREATE_QUERY,
                body: Some("multipart/form-data"),
                errors: &[404, 409, 415, 422],
                ..endpoint(
                    Method::POST,
                    "/api/v1/executions/{namespace}/{id}",
                    "createExecution",
                    "Start an execution of a flow; each form part is an input, file parts are \
                     stored for FILE inputs",
                )
            },
            handler: post(create).layer(DefaultBodyLimit::max(LARGEST_FORM)),
        },
        Route {
            endpoint: Endpoint {
                query: SEARCH_QUERY,
                reply: Reply::json("PagedExecutions"),
                errors: &[422],
                ..endpoint(
                    Method::GET,
                    "/api/v1/executions/search",
                    "searchExecutions",
                    "Search for executions, newest first",
                )
            },
            handler: get(search),
        },
        Route {
            endpoint: endpoint(
                Method::GET,
                "/api/v1/executions/{executionId}",
                "getExecution",
                "Get an execution",
            ),
            handler: get(get_execution),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::empty(204),
                ..endpoint(
                    Method::DELETE,
                    "/api/v1/executions/{executionId}",
                    "deleteExecution",
                    "Delete an ended execution and its logs",
                )
            },
            handler: delete(remove),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::media("text/event-stream", "Execution"),
                ..endpoint(
                    Method::GET,
                    "/api/v1/executions/{executionId}/follow",
                    "followExecution",
                    "Follow an execution: the current version (id: progress), every change, then \
                     the terminal version again (id: end)",
                )
            },
            handler: get(follow),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::empty(202),
                errors: &[404, 409],
                ..endpoint(
                    Method::DELETE,
                    "/api/v1/executions/{executionId}/kill",
                    "killExecution",
                    "Kill an execution (and its subflow executions)",
                )
            },
            handler: delete(kill),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::json("Execution"),
                errors: &[404, 409],
                ..endpoint(
                    Method::POST,
                    "/api/v1/executions/{executionId}/restart",
                    "restartExecution",
                    "Run an ended execution again from its failed task runs, keeping its id",
                )
            },
            handler: post(restart),
        },
        Route {
            endpoint: Endpoint {
                query: REPLAY_QUERY,
                reply: Reply::json("Execution"),
                errors: &[404, 409, 422],
                ..endpoint(
                    Method::POST,
                    "/api/v1/executions/{executionId}/replay",
                    "replayExecution",
                    "Create a new execution from an ended one: the task runs that ended before \
                     the given task run are kept, the rest runs again",
                )
            },
            handler: post(replay),
        },
        Route {
            endpoint: Endpoint {
                body: Some("multipart/form-data"),
                reply: Reply::empty(204),
                errors: &[404, 409, 415, 422],
                ..endpoint(
                    Method::POST,
                    "/api/v1/executions/{executionId}/resume",
                    "resumeExecution",
                    "Resume a paused execution; form parts are the Pause task's onResume inputs",
                )
            },
            handler: post(resume).layer(DefaultBodyLimit::max(LARGEST_FORM)),
        },
    ]
}

async fn create(
    State(state): State<AppState>,
    Path((namespace, flow_id)): Path<(String, String)>,
    params: Params,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let labels = params
        .all("labels")
        .into_iter()
        .map(parse_label)
        .collect::<Result<Vec<_>, _>>()?;
    let wait = params.flag("wait", false)?;
    let revision = read_revision(&params)?;
    let form = read_form(&state, request).await?.unwrap_or_default();
    let request = StartRequest {
        namespace,
        flow_id,
        inputs: form.inputs,
        labels,
        revision,
        files: form.files,
    };
    let mut execution = state.options.commands.start(request).await?;
    if wait {
        execution = until_ended(&state, execution).await?;
    }
    Ok(Json(with_url(&execution)))
}

/// The execution once it has ended (or as it is when the server stops).
pub(crate) async fn until_ended(
    state: &AppState,
    mut execution: Execution,
) -> Result<Execution, ApiError> {
    if execution.state.is_terminated() {
        return Ok(execution);
    }
    let mut updates = state.options.commands.follow(&execution.id).await?;
    loop {
        let next = tokio::select! {
            next = updates.recv() => next,
            () = state.stopping().cancelled() => None,
        };
        let Some(next) = next else { break };
        let ended = next.state.is_terminated();
        execution = next;
        if ended {
            break;
        }
    }
    Ok(execution)
}

async fn get_execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Execution>, ApiError> {
    state
        .options
        .executions
        .get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| execution_not_found(&id))
}

async fn search(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let (page, size) = params.paging()?;
    let states = params
        .all("state")
        .into_iter()
        .map(|name| {
            serde_json::from_value::<ExecutionState>(json!(name.to_ascii_uppercase()))
                .map_err(|_| ApiError::invalid(format!("'{name}' is not an execution state")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let query = ExecutionQuery {
        namespace: params.get("namespace").map(str::to_string),
        flow_id: params.get("flowId").map(str::to_string),
        states,
        page,
        size,
    };
    let found = state.options.executions.search(&query).await?;
    Ok(Json(
        json!({ "results": found.results, "total": found.total }),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.options.executions.delete(&id).await? {
        return Err(execution_not_found(&id));
    }
    state.options.logs.delete_execution(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn follow(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    let updates = state.options.commands.follow(&id).await?;
    let events = sse::execution_events(updates, state.stopping().clone());
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

async fn kill(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.options.commands.kill(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn restart(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let execution = state.options.commands.restart(&id).await?;
    Ok(Json(serde_json::to_value(execution).unwrap_or_default()))
}

async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Execution>, ApiError> {
    let revision = read_revision(&params)?;
    let task_run_id = params.get("taskRunId").map(str::to_string);
    let execution = state
        .options
        .commands
        .replay(&id, task_run_id, revision)
        .await?;
    Ok(Json(execution))
}

async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let (inputs, files) = match read_form(&state, request).await? {
        Some(form) => (Some(form.inputs), form.files),
        None => (None, Vec::new()),
    };
    state
        .options
        .commands
        .resume_with_files(&id, inputs, files)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `revision` query parameter, when given.
fn read_revision(params: &Params) -> Result<Option<u32>, ApiError> {
    params
        .get("revision")
        .map(|text| {
            text.parse::<u32>().map_err(|_| {
                ApiError::invalid(format!(
                    "query parameter 'revision' must be a revision number, found '{text}'"
                ))
            })
        })
        .transpose()
}

/// `key:value`; `system.` labels are Kestra's own, except `system.correlationId`.
fn parse_label(text: &str) -> Result<Label, ApiError> {
    let (key, value) = text
        .split_once(':')
        .ok_or_else(|| ApiError::invalid(format!("label '{text}' must be written key:value")))?;
    if key.starts_with("system.") && key != "system.correlationId" {
        return Err(ApiError::invalid(format!(
            "system labels can only be set by Kestra itself, offending label: {key}={value}"
        )));
    }
    Ok(Label {
        key: key.to_string(),
        value: value.to_string(),
    })
}

/// The execution with the `url` Kestra adds where its UI shows it.
fn with_url(execution: &Execution) -> Value {
    let mut value = serde_json::to_value(execution).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.insert(
            "url".into(),
            json!(format!(
                "/ui/executions/{}/{}/{}",
                execution.namespace, execution.flow_id, execution.id
            )),
        );
    }
    value
}

fn execution_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("execution '{id}' not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels() {
        assert_eq!(
            parse_label("team:data:eng"),
            Ok(Label {
                key: "team".into(),
                value: "data:eng".into()
            })
        );
        assert!(parse_label("nocolon").is_err());
        assert!(parse_label("system.readOnly:true").is_err());
        assert!(parse_label("system.correlationId:abc").is_ok());
    }
}
