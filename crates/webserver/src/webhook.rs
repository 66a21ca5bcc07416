//! `/api/v1/executions/webhook/{namespace}/{id}/{key}`: starts an execution through a flow's
//! Webhook trigger, on GET, POST or PUT. The body, headers and query parameters become the
//! trigger's variables; the answer is the created execution (the ended one, or only its outputs,
//! when the trigger says `wait`/`returnOutputs`), 204 when the trigger's conditions do not hold.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use peregrine_ports::repository::{WebhookCall, WebhookOutcome};
use serde_json::Value;

use crate::error::ApiError;
use crate::executions::{TAG, until_ended};
use crate::params::Params;
use crate::routes::{Endpoint, Reply, Route};
use crate::state::AppState;

const PATH: &str = "/api/v1/executions/webhook/{namespace}/{id}/{key}";
/// The largest webhook body: it is kept in the execution's trigger variables.
const LARGEST_BODY: usize = 10 * 1024 * 1024;

pub(crate) fn routes() -> Vec<Route> {
    let route = |method: Method, operation_id, summary, handler: MethodRouter<AppState>| Route {
        endpoint: Endpoint {
            method,
            path: PATH,
            operation_id,
            tag: TAG,
            summary,
            query: &[],
            body: None,
            reply: Reply::json("Execution"),
            errors: &[404, 409, 422],
        },
        handler: handler.layer(DefaultBodyLimit::max(LARGEST_BODY)),
    };
    vec![
        route(
            Method::GET,
            "webhookTriggerGet",
            "Start an execution through a flow's Webhook trigger (GET)",
            get(webhook),
        ),
        route(
            Method::POST,
            "webhookTriggerPost",
            "Start an execution through a flow's Webhook trigger (POST); the body is \
             `trigger.body`",
            post(webhook),
        ),
        route(
            Method::PUT,
            "webhookTriggerPut",
            "Start an execution through a flow's Webhook trigger (PUT); the body is \
             `trigger.body`",
            put(webhook),
        ),
    ]
}

async fn webhook(
    State(state): State<AppState>,
    Path((namespace, flow_id, key)): Path<(String, String, String)>,
    params: Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let call = WebhookCall {
        namespace,
        flow_id,
        key,
        body: (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned()),
        headers: headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect(),
        parameters: params.pairs().to_vec(),
    };
    match state.options.commands.webhook(call).await? {
        WebhookOutcome::Skipped => Ok(StatusCode::NO_CONTENT.into_response()),
        WebhookOutcome::Started {
            execution,
            wait,
            return_outputs,
        } => {
            if !wait {
                return Ok(Json(*execution).into_response());
            }
            let ended = until_ended(&state, *execution).await?;
            if return_outputs {
                let outputs = ended.outputs.clone().unwrap_or_default();
                return Ok(Json(Value::Object(outputs)).into_response());
            }
            Ok(Json(ended).into_response())
        }
    }
}
