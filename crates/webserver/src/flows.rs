//! `/api/v1/flows`: flows written in YAML, kept with revisions; validation, search, and the
//! namespace bulk update `kestra flow namespace update` uses.
//!
//! A flow is answered as Kestra does: the typed flow's JSON (`id`, `namespace`, `revision`,
//! `tasks`, ...) with `source` (the YAML as written) where Kestra returns a `FlowWithSource`.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use peregrine_model::{Flow, FlowReport};
use peregrine_ports::repository::{FlowQuery, FlowRecord};
use serde_json::{Map, Value, json};

use crate::documents::{self, Document};
use crate::error::ApiError;
use crate::params::{Params, page_of};
use crate::routes::{Endpoint, QueryParam, Reply, Route};
use crate::state::AppState;

const TAG: &str = "Flows";
const YAML: Option<&str> = Some("application/x-yaml");

const SEARCH_QUERY: &[QueryParam] = &[
    QueryParam::new("q", "string", "Text to find in the flow id or source"),
    QueryParam::new("namespace", "string", "A namespace or one of its parents"),
    QueryParam::new("page", "integer", "The page, from 1 (default 1)"),
    QueryParam::new("size", "integer", "The page size (default 10)"),
];
const BULK_QUERY: &[QueryParam] = &[QueryParam::new(
    "delete",
    "boolean",
    "Delete the namespace's flows absent from the body (default true, as Kestra)",
)];
const GET_QUERY: &[QueryParam] = &[
    QueryParam::new("source", "boolean", "Include the YAML source"),
    QueryParam::new("revision", "integer", "A revision (default: the latest)"),
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
        reply: Reply::json("Flow"),
        errors: &[],
    };
    vec![
        Route {
            endpoint: Endpoint {
                body: YAML,
                reply: Reply::json("FlowWithSource"),
                errors: &[422],
                ..endpoint(
                    Method::POST,
                    "/api/v1/flows",
                    "createFlow",
                    "Create a flow from YAML source",
                )
            },
            handler: post(create),
        },
        Route {
            endpoint: Endpoint {
                body: YAML,
                reply: Reply::json("[ValidateConstraintViolation]"),
                ..endpoint(
                    Method::POST,
                    "/api/v1/flows/validate",
                    "validateFlows",
                    "Validate flows (YAML documents separated by ---), one result per flow",
                )
            },
            handler: post(validate),
        },
        Route {
            endpoint: Endpoint {
                query: SEARCH_QUERY,
                reply: Reply::json("PagedFlows"),
                errors: &[422],
                ..endpoint(
                    Method::GET,
                    "/api/v1/flows/search",
                    "searchFlows",
                    "Search for flows",
                )
            },
            handler: get(search),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::json("[Flow]"),
                ..endpoint(
                    Method::GET,
                    "/api/v1/flows/{namespace}",
                    "listFlowsByNamespace",
                    "Every flow of a namespace",
                )
            },
            handler: get(list_namespace),
        },
        Route {
            endpoint: Endpoint {
                query: BULK_QUERY,
                body: YAML,
                reply: Reply::json("[FlowWithSource]"),
                errors: &[422],
                ..endpoint(
                    Method::POST,
                    "/api/v1/flows/{namespace}",
                    "updateFlowsInNamespace",
                    "Create or update every flow of a namespace from YAML documents",
                )
            },
            handler: post(update_namespace),
        },
        Route {
            endpoint: Endpoint {
                query: GET_QUERY,
                errors: &[404, 422],
                ..endpoint(
                    Method::GET,
                    "/api/v1/flows/{namespace}/{id}",
                    "getFlow",
                    "Get a flow",
                )
            },
            handler: get(get_flow),
        },
        Route {
            endpoint: Endpoint {
                body: YAML,
                reply: Reply::json("FlowWithSource"),
                errors: &[404, 422],
                ..endpoint(
                    Method::PUT,
                    "/api/v1/flows/{namespace}/{id}",
                    "updateFlow",
                    "Update a flow from YAML source (a new revision when the source changed)",
                )
            },
            handler: put(update),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::empty(204),
                errors: &[404],
                ..endpoint(
                    Method::DELETE,
                    "/api/v1/flows/{namespace}/{id}",
                    "deleteFlow",
                    "Delete a flow (its revisions are kept)",
                )
            },
            handler: delete(remove),
        },
        Route {
            endpoint: Endpoint {
                reply: Reply::json("[FlowWithSource]"),
                ..endpoint(
                    Method::GET,
                    "/api/v1/flows/{namespace}/{id}/revisions",
                    "listFlowRevisions",
                    "Every revision of a flow, oldest first",
                )
            },
            handler: get(revisions),
        },
    ]
}

async fn create(State(state): State<AppState>, body: String) -> Result<Json<Value>, ApiError> {
    let document = Document::whole(body);
    let flow = valid_flow(&state, document.clone()).await?;
    let flows = &state.options.flows;
    if flows.get(&flow.namespace, &flow.id, None).await?.is_some() {
        return Err(ApiError::invalid_entity(vec![format!(
            "id: flow id already exists: {}.{}",
            flow.namespace, flow.id
        )]));
    }
    let record = flows
        .save(
            &flow.namespace,
            &flow.id,
            document.text,
            jiff::Timestamp::now(),
        )
        .await?;
    Ok(Json(flow_json(Some(flow), &record, true)))
}

async fn update(
    State(state): State<AppState>,
    Path((namespace, id)): Path<(String, String)>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let flows = &state.options.flows;
    if flows.get(&namespace, &id, None).await?.is_none() {
        return Err(flow_not_found(&namespace, &id));
    }
    let document = Document::whole(body);
    let flow = valid_flow(&state, document.clone()).await?;
    if flow.namespace != namespace || flow.id != id {
        return Err(ApiError::invalid_entity(vec![format!(
            "id: the flow is {}.{}, the path names {namespace}.{id}",
            flow.namespace, flow.id
        )]));
    }
    let record = flows
        .save(&namespace, &id, document.text, jiff::Timestamp::now())
        .await?;
    Ok(Json(flow_json(Some(flow), &record, true)))
}

async fn get_flow(
    State(state): State<AppState>,
    Path((namespace, id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let with_source = params.flag("source", false)?;
    let revision = match params.get("revision") {
        None => None,
        Some(text) => Some(text.parse::<u32>().map_err(|_| {
            ApiError::invalid(format!(
                "query parameter 'revision' must be a revision number, found '{text}'"
            ))
        })?),
    };
    let record = state
        .options
        .flows
        .get(&namespace, &id, revision)
        .await?
        .ok_or_else(|| flow_not_found(&namespace, &id))?;
    let mut values = records_json(&state, vec![record], with_source).await?;
    values
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal("no flow after validation".into()))
}

async fn revisions(
    State(state): State<AppState>,
    Path((namespace, id)): Path<(String, String)>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let records = state.options.flows.revisions(&namespace, &id).await?;
    Ok(Json(records_json(&state, records, true).await?))
}

async fn remove(
    State(state): State<AppState>,
    Path((namespace, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let deleted = state
        .options
        .flows
        .delete(&namespace, &id, jiff::Timestamp::now())
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(flow_not_found(&namespace, &id))
    }
}

async fn search(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let (page, size) = params.paging()?;
    let query = FlowQuery {
        namespace: params.get("namespace").map(str::to_string),
        text: params.get("q").map(str::to_string),
    };
    let records = state.options.flows.list(&query).await?;
    let total = records.len();
    let results = records_json(&state, page_of(records, page, size), false).await?;
    Ok(Json(json!({ "results": results, "total": total })))
}

async fn list_namespace(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let records = in_namespace(&state, &namespace).await?;
    Ok(Json(records_json(&state, records, false).await?))
}

/// One result per document, in Kestra's `ValidateConstraintViolation` shape.
async fn validate(
    State(state): State<AppState>,
    body: String,
) -> Result<Json<Vec<Value>>, ApiError> {
    let documents = documents::split(&body);
    let reports = state.lint(documents.clone()).await?;
    let mut results = Vec::with_capacity(reports.len());
    for (index, (document, report)) in documents.iter().zip(reports).enumerate() {
        let (namespace, id) = identity(document, &report);
        let mut outdated = false;
        if let (Some(flow), Some(namespace), Some(id)) = (&report.flow, &namespace, &id)
            && let Some(sent) = flow.revision
        {
            let last = state.options.flows.get(namespace, id, None).await?;
            outdated = sent != last.map_or(0, |record| record.revision) + 1;
        }
        let mut result = Map::new();
        result.insert("index".into(), json!(index));
        if let Some(id) = id {
            result.insert("flow".into(), json!(id));
        }
        if let Some(namespace) = namespace {
            result.insert("namespace".into(), json!(namespace));
        }
        if !report.is_valid() {
            result.insert("constraints".into(), json!(problems(&report).join("\n")));
        }
        result.insert("outdated".into(), json!(outdated));
        result.insert("deprecationPaths".into(), json!([]));
        result.insert("warnings".into(), json!([]));
        result.insert("infos".into(), json!([]));
        results.push(Value::Object(result));
    }
    Ok(Json(results))
}

/// Creates or updates every flow of the body in `namespace`, all or nothing; with `delete`
/// (Kestra's default) the namespace's other flows are deleted. Answers the deleted flows, then
/// the saved ones.
async fn update_namespace(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
    body: String,
) -> Result<Json<Vec<Value>>, ApiError> {
    let delete_absent = params.flag("delete", true)?;
    let documents = documents::split(&body);
    let reports = state.validate(documents.clone()).await?;
    let mut errors: Vec<String> = reports.iter().flat_map(problems).collect();
    let mut flows = Vec::with_capacity(reports.len());
    let mut ids = HashSet::new();
    for (document, report) in documents.into_iter().zip(reports) {
        let Some(flow) = report.flow else { continue };
        if flow.namespace != namespace {
            errors.push(format!(
                "{}: namespace: flow namespace is invalid: {} is not {namespace}",
                report.start, flow.namespace
            ));
        }
        if !ids.insert(flow.id.clone()) {
            errors.push(format!(
                "{}: id: duplicate flow id {}",
                report.start, flow.id
            ));
        }
        flows.push((flow, document));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_entity(errors));
    }
    let repository = &state.options.flows;
    let now = jiff::Timestamp::now();
    let mut deleted = Vec::new();
    if delete_absent {
        for record in in_namespace(&state, &namespace).await? {
            if !ids.contains(&record.id) && repository.delete(&namespace, &record.id, now).await? {
                deleted.push(FlowRecord {
                    deleted: true,
                    ..record
                });
            }
        }
    }
    let mut answer = records_json(&state, deleted, true).await?;
    for (flow, document) in flows {
        let record = repository
            .save(&namespace, &flow.id, document.source(), now)
            .await?;
        answer.push(flow_json(Some(flow), &record, true));
    }
    Ok(Json(answer))
}

async fn valid_flow(state: &AppState, document: Document) -> Result<Flow, ApiError> {
    let report = state
        .validate(vec![document])
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("no validation report".into()))?;
    if !report.is_valid() {
        return Err(ApiError::invalid_entity(problems(&report)));
    }
    report
        .flow
        .ok_or_else(|| ApiError::Internal("a valid flow without its typed model".into()))
}

/// Every problem of a report as `line:col: path: message`.
fn problems(report: &FlowReport) -> Vec<String> {
    report.diagnostics.iter().map(ToString::to_string).collect()
}

/// The namespace and id a document declares, even when it is invalid.
fn identity(document: &Document, report: &FlowReport) -> (Option<String>, Option<String>) {
    if let Some(flow) = &report.flow {
        return (Some(flow.namespace.clone()), Some(flow.id.clone()));
    }
    let Ok(parsed) = peregrine_model::yaml::load_document(&document.text) else {
        return (None, None);
    };
    let text = |key| parsed.root.get(key).and_then(|node| node.scalar_text());
    (text("namespace"), text("id"))
}

async fn in_namespace(state: &AppState, namespace: &str) -> Result<Vec<FlowRecord>, ApiError> {
    let query = FlowQuery {
        namespace: Some(namespace.to_string()),
        text: None,
    };
    let mut records = state.options.flows.list(&query).await?;
    records.retain(|record| record.namespace == namespace);
    Ok(records)
}

/// The JSON of stored flows, reading each source into the typed flow again.
async fn records_json(
    state: &AppState,
    records: Vec<FlowRecord>,
    with_source: bool,
) -> Result<Vec<Value>, ApiError> {
    let documents = records
        .iter()
        .map(|record| Document::whole(record.source.clone()))
        .collect();
    let reports = state.validate(documents).await?;
    Ok(records
        .iter()
        .zip(reports)
        .map(|(record, report)| match report.flow {
            Some(flow) => flow_json(Some(flow), record, with_source),
            None => {
                let mut value = flow_json(None, record, with_source);
                if let Value::Object(object) = &mut value {
                    object.insert("exception".into(), json!(problems(&report).join("\n")));
                }
                value
            }
        })
        .collect())
}

/// A stored flow as Kestra serves it: the typed flow with its revision (`id`, `namespace` and
/// `revision` alone when the source no longer reads), `disabled` and `deleted`, and `source`.
pub(crate) fn flow_json(flow: Option<Flow>, record: &FlowRecord, with_source: bool) -> Value {
    let mut object = flow
        .and_then(|mut flow| {
            flow.revision = Some(record.revision);
            match serde_json::to_value(flow) {
                Ok(Value::Object(object)) => Some(object),
                _ => None,
            }
        })
        .unwrap_or_else(|| {
            let mut object = Map::new();
            object.insert("id".into(), json!(record.id));
            object.insert("namespace".into(), json!(record.namespace));
            object.insert("revision".into(), json!(record.revision));
            object
        });
    object.entry("disabled").or_insert(json!(false));
    object.insert("deleted".into(), json!(record.deleted));
    if with_source {
        object.insert("source".into(), json!(record.source));
    }
    Value::Object(object)
}

fn flow_not_found(namespace: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("flow '{namespace}.{id}' not found"))
}
