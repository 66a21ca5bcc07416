//! `/api/v1/triggers`: the scheduler's trigger states, as Kestra's TriggerController serves
//! them: searched with the trigger each belongs to, listed per flow, disabled and enabled again,
//! unlocked (the execution they wait for forgotten) and restarted, one by one or in bulk.
//!
//! Every change goes through the trigger-state port as a conditional write (`triggers::update`)
//! and is done as the Toggle task does it: a trigger disabled or enabled again loses its next
//! slot, which the scheduler computes again as `recoverMissedSchedules` says. The text filter
//! `q` is applied here, after the port's namespace and flow filters.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post, put};
use jiff::Timestamp;
use peregrine_model::yaml::{Node, load_document};
use peregrine_ports::repository::{FlowQuery, FlowRecord};
use peregrine_ports::triggers::{self, TriggerKey, TriggerQuery, TriggerState};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::{Params, page_of};
use crate::routes::{Endpoint, QueryParam, Reply, Route};
use crate::state::AppState;

const TAG: &str = "Triggers";
const PAGING: [QueryParam; 4] = [
    QueryParam::new("page", "integer", "The page, from 1 (default 1)"),
    QueryParam::new("size", "integer", "States per page (default 10)"),
    QueryParam::new(
        "sort",
        "string",
        "field:asc or field:desc, fields namespace, flowId, triggerId, executionId, date, \
         nextExecutionDate, updatedDate (default: by namespace, flow and trigger)",
    )
    .repeated(),
    QueryParam::new(
        "q",
        "string",
        "Text the namespace, flow id or trigger id contains (case ignored)",
    ),
];
const SEARCH_QUERY: &[QueryParam] = &[
    PAGING[0],
    PAGING[1],
    PAGING[2],
    PAGING[3],
    QueryParam::new("namespace", "string", "The namespace or one of its parents"),
    QueryParam::new("flowId", "string", "Only the triggers of this flow"),
];
const BULK_QUERY: &[QueryParam] = &[
    PAGING[3],
    QueryParam::new("namespace", "string", "The namespace or one of its parents"),
];
const DISABLE_QUERY: &[QueryParam] = &[
    PAGING[3],
    QueryParam::new("namespace", "string", "The namespace or one of its parents"),
    QueryParam::new(
        "disabled",
        "boolean",
        "Disable (true, the default) or enable (false)",
    ),
];

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
        errors: &[404],
    };
    let bulk = |path, operation_id, summary, query| Endpoint {
        query,
        errors: &[422],
        ..endpoint(
            Method::POST,
            path,
            operation_id,
            summary,
            Reply::json("BulkResponse"),
        )
    };
    let with_body = |endpoint: Endpoint| Endpoint {
        body: Some("application/json"),
        ..endpoint
    };
    vec![
        Route {
            endpoint: Endpoint {
                query: SEARCH_QUERY,
                errors: &[422],
                ..endpoint(
                    Method::GET,
                    "/api/v1/triggers/search",
                    "searchTriggers",
                    "Search trigger states, each with its trigger as the flow defines it (null \
                     when the flow or the trigger is gone)",
                    Reply::json("PagedTriggersWithDefinition"),
                )
            },
            handler: get(search),
        },
        Route {
            endpoint: Endpoint {
                query: &PAGING,
                errors: &[422],
                ..endpoint(
                    Method::GET,
                    "/api/v1/triggers/{namespace}/{flowId}",
                    "findTriggersOfFlow",
                    "The trigger states of a flow",
                    Reply::json("PagedTriggers"),
                )
            },
            handler: get(find),
        },
        Route {
            endpoint: with_body(Endpoint {
                errors: &[404, 422],
                ..endpoint(
                    Method::PUT,
                    "/api/v1/triggers",
                    "updateTrigger",
                    "Disable or enable a trigger: the body is a trigger state (namespace, \
                     flowId, triggerId, disabled)",
                    Reply::json("Trigger"),
                )
            }),
            handler: put(update),
        },
        Route {
            endpoint: Endpoint {
                errors: &[404, 409],
                ..endpoint(
                    Method::POST,
                    "/api/v1/triggers/{namespace}/{flowId}/{triggerId}/unlock",
                    "unlockTrigger",
                    "Unlock a trigger: forget the execution it waits for (409 when it waits for \
                     none)",
                    Reply::json("Trigger"),
                )
            },
            handler: post(unlock),
        },
        Route {
            endpoint: with_body(bulk(
                "/api/v1/triggers/unlock/by-triggers",
                "unlockTriggersByTriggers",
                "Unlock the triggers given (a list of trigger states); those not locked are \
                 left out of the count",
                &[],
            )),
            handler: post(unlock_by_triggers),
        },
        Route {
            endpoint: bulk(
                "/api/v1/triggers/unlock/by-query",
                "unlockTriggersByQuery",
                "Unlock every locked trigger matching the query",
                BULK_QUERY,
            ),
            handler: post(unlock_by_query),
        },
        Route {
            endpoint: with_body(bulk(
                "/api/v1/triggers/set-disabled/by-triggers",
                "setDisabledTriggersByTriggers",
                "Disable or enable the triggers given: {triggers: [trigger states], disabled}",
                &[],
            )),
            handler: post(set_disabled_by_triggers),
        },
        Route {
            endpoint: bulk(
                "/api/v1/triggers/set-disabled/by-query",
                "setDisabledTriggersByQuery",
                "Disable or enable every trigger matching the query",
                DISABLE_QUERY,
            ),
            handler: post(set_disabled_by_query),
        },
        Route {
            endpoint: endpoint(
                Method::POST,
                "/api/v1/triggers/{namespace}/{flowId}/{triggerId}/restart",
                "restartTrigger",
                "Restart a trigger: forget the execution it waits for and its next slot, which \
                 the scheduler computes again",
                Reply::json("Trigger"),
            ),
            handler: post(restart),
        },
    ]
}

async fn search(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let (page, size) = params.paging()?;
    let order = Order::read(&params)?;
    let query = TriggerQuery {
        namespace: params.get("namespace").map(str::to_string),
        flow_id: params.get("flowId").map(str::to_string),
    };
    let states = matching(&state, &query, &params).await?;
    let flows = state
        .options
        .flows
        .list(&FlowQuery {
            namespace: query.namespace.clone(),
            text: None,
        })
        .await?;
    let definitions = definitions(flows).await?;
    let mut found: Vec<(Option<Value>, TriggerState)> = Vec::new();
    for trigger in states {
        let flow = (trigger.key.namespace.clone(), trigger.key.flow_id.clone());
        let definition = match definitions.get(&flow) {
            // The flow is gone: its state is still shown.
            None => None,
            // The flow has no triggers any more: the state is left out, as Kestra does.
            Some(triggers) if triggers.is_empty() => continue,
            Some(triggers) => definition(triggers, &trigger.key.trigger_id).cloned(),
        };
        found.push((definition, trigger));
    }
    found.sort_by(|(_, a), (_, b)| order.compare(a, b));
    let total = found.len();
    let results: Vec<Value> = page_of(found, page, size)
        .into_iter()
        .map(|(definition, trigger)| {
            json!({
                "abstractTrigger": definition,
                "triggerContext": state_json(&trigger),
            })
        })
        .collect();
    Ok(Json(json!({ "results": results, "total": total })))
}

async fn find(
    State(state): State<AppState>,
    Path((namespace, flow_id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let (page, size) = params.paging()?;
    let order = Order::read(&params)?;
    let query = TriggerQuery {
        namespace: Some(namespace.clone()),
        flow_id: Some(flow_id),
    };
    let mut found = matching(&state, &query, &params).await?;
    // The flow's own namespace, not the ones below it.
    found.retain(|trigger| trigger.key.namespace == namespace);
    found.sort_by(|a, b| order.compare(a, b));
    let total = found.len();
    let results: Vec<Value> = page_of(found, page, size).iter().map(state_json).collect();
    Ok(Json(json!({ "results": results, "total": total })))
}

async fn update(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let trigger: TriggerRef = read_json(&body)?;
    let flow = state
        .options
        .flows
        .get(&trigger.namespace, &trigger.flow_id, None)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("Flow of trigger {} not found", trigger.trigger_id))
        })?;
    let definitions = definitions(vec![flow]).await?;
    let defined = definitions
        .values()
        .next()
        .and_then(|triggers| definition(triggers, &trigger.trigger_id));
    if defined.is_none() {
        return Err(ApiError::NotFound(format!(
            "Flow {} has no trigger {}",
            trigger.flow_id, trigger.trigger_id
        )));
    }
    let key = trigger.key();
    let disabled = trigger.disabled.unwrap_or(false);
    let stored = set_disabled(&state, &key, disabled)
        .await?
        .ok_or_else(|| no_state(&key))?;
    Ok(Json(state_json(&stored)))
}

async fn unlock(
    State(state): State<AppState>,
    Path((namespace, flow_id, trigger_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let key = TriggerKey::new(&namespace, &flow_id, &trigger_id);
    match unlocked(&state, &key).await? {
        Unlock::Done(stored) => Ok(Json(state_json(&stored))),
        Unlock::NotLocked => Err(ApiError::Conflict("Trigger is not locked".into())),
        Unlock::Missing => Err(no_state(&key)),
    }
}

async fn unlock_by_triggers(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let triggers: Vec<TriggerRef> = read_json(&body)?;
    let mut count = 0;
    for trigger in &triggers {
        if let Unlock::Done(_) = unlocked(&state, &trigger.key()).await? {
            count += 1;
        }
    }
    Ok(Json(json!({ "count": count })))
}

async fn unlock_by_query(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let mut count = 0;
    for trigger in by_query(&state, &params).await? {
        if trigger.execution_id.is_none() {
            continue;
        }
        if let Unlock::Done(_) = unlocked(&state, &trigger.key).await? {
            count += 1;
        }
    }
    Ok(Json(json!({ "count": count })))
}

/// The body of `set-disabled/by-triggers`.
#[derive(Deserialize)]
struct SetDisabled {
    triggers: Vec<TriggerRef>,
    disabled: bool,
}

async fn set_disabled_by_triggers(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: SetDisabled = read_json(&body)?;
    let mut count = 0;
    for trigger in &request.triggers {
        if set_disabled(&state, &trigger.key(), request.disabled)
            .await?
            .is_some()
        {
            count += 1;
        }
    }
    Ok(Json(json!({ "count": count })))
}

async fn set_disabled_by_query(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let disabled = params.flag("disabled", true)?;
    let mut count = 0;
    for trigger in by_query(&state, &params).await? {
        if set_disabled(&state, &trigger.key, disabled)
            .await?
            .is_some()
        {
            count += 1;
        }
    }
    Ok(Json(json!({ "count": count })))
}

async fn restart(
    State(state): State<AppState>,
    Path((namespace, flow_id, trigger_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let key = TriggerKey::new(&namespace, &flow_id, &trigger_id);
    let now = Timestamp::now();
    let stored = triggers::update(state.options.triggers.as_ref(), &key, |trigger| {
        trigger.execution_id = None;
        trigger.next_execution_date = None;
        trigger.updated_date = now;
        true
    })
    .await?
    .ok_or_else(|| no_state(&key))?;
    Ok(Json(state_json(&stored)))
}

/// A trigger named in a body: Kestra sends whole trigger states; only these fields count.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TriggerRef {
    namespace: String,
    flow_id: String,
    trigger_id: String,
    #[serde(default)]
    disabled: Option<bool>,
}

impl TriggerRef {
    fn key(&self) -> TriggerKey {
        TriggerKey::new(&self.namespace, &self.flow_id, &self.trigger_id)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::invalid(format!("the body must be a JSON trigger: {error}")))
}

fn no_state(key: &TriggerKey) -> ApiError {
    ApiError::NotFound(format!("trigger '{key}' not found"))
}

/// Disables or enables a trigger as the Toggle task does: the next slot is forgotten, and the
/// scheduler computes it again once the trigger is enabled. Nothing is written when the trigger
/// is already so. `None` when there is no state.
async fn set_disabled(
    state: &AppState,
    key: &TriggerKey,
    disabled: bool,
) -> Result<Option<TriggerState>, ApiError> {
    let now = Timestamp::now();
    let stored = triggers::update(state.options.triggers.as_ref(), key, |trigger| {
        if trigger.disabled == disabled {
            return false;
        }
        trigger.disabled = disabled;
        trigger.next_execution_date = None;
        trigger.updated_date = now;
        true
    })
    .await?;
    Ok(stored)
}

enum Unlock {
    Done(TriggerState),
    /// It waits for no execution (Kestra's IllegalStateException).
    NotLocked,
    Missing,
}

/// Forgets the execution a trigger waits for, so its next slot may fire.
async fn unlocked(state: &AppState, key: &TriggerKey) -> Result<Unlock, ApiError> {
    let now = Timestamp::now();
    // Whether the state last read was locked; `update` returns what that read led to.
    let locked = AtomicBool::new(false);
    let stored = triggers::update(state.options.triggers.as_ref(), key, |trigger| {
        let was_locked = trigger.execution_id.is_some();
        locked.store(was_locked, AtomicOrdering::Relaxed);
        if !was_locked {
            return false;
        }
        trigger.execution_id = None;
        trigger.updated_date = now;
        true
    })
    .await?;
    Ok(match stored {
        None => Unlock::Missing,
        Some(trigger) if locked.load(AtomicOrdering::Relaxed) => Unlock::Done(trigger),
        Some(_) => Unlock::NotLocked,
    })
}

/// The states of the bulk endpoints' query: `namespace` (with the namespaces below) and `q`.
async fn by_query(state: &AppState, params: &Params) -> Result<Vec<TriggerState>, ApiError> {
    let query = TriggerQuery {
        namespace: params.get("namespace").map(str::to_string),
        flow_id: None,
    };
    matching(state, &query, params).await
}

/// The states the port lists for `query` whose namespace, flow id or trigger id contains `q`.
async fn matching(
    state: &AppState,
    query: &TriggerQuery,
    params: &Params,
) -> Result<Vec<TriggerState>, ApiError> {
    let mut states = state.options.triggers.list(query).await?;
    if let Some(text) = params.get("q").map(str::to_lowercase) {
        states.retain(|trigger| {
            let key = &trigger.key;
            [&key.namespace, &key.flow_id, &key.trigger_id]
                .iter()
                .any(|part| part.to_lowercase().contains(&text))
        });
    }
    Ok(states)
}

/// The triggers each flow defines, as written (each trigger's YAML mapping as JSON), by
/// namespace and flow id. A source that no longer reads defines none.
async fn definitions(
    flows: Vec<FlowRecord>,
) -> Result<HashMap<(String, String), Vec<Value>>, ApiError> {
    tokio::task::spawn_blocking(move || {
        flows
            .into_iter()
            .map(|flow| {
                let triggers = written_triggers(&flow.source);
                ((flow.namespace, flow.id), triggers)
            })
            .collect()
    })
    .await
    .map_err(|error| ApiError::Internal(format!("reading the flows stopped: {error}")))
}

fn written_triggers(source: &str) -> Vec<Value> {
    let Ok(document) = load_document(source) else {
        return Vec::new();
    };
    document
        .root
        .get("triggers")
        .and_then(Node::as_seq)
        .map(|triggers| triggers.iter().map(Node::to_json).collect())
        .unwrap_or_default()
}

fn definition<'a>(triggers: &'a [Value], trigger_id: &str) -> Option<&'a Value> {
    triggers
        .iter()
        .find(|trigger| trigger.get("id").and_then(Value::as_str) == Some(trigger_id))
}

/// A state as Kestra writes it: camelCase, nulls omitted.
fn state_json(trigger: &TriggerState) -> Value {
    let mut value = serde_json::to_value(trigger).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.retain(|_, field| !field.is_null());
    }
    value
}

/// The `sort` parameters: fields compared in turn, each ascending or descending; the port's
/// order (namespace, flow, trigger) breaks ties.
struct Order(Vec<(Field, bool)>);

#[derive(Clone, Copy)]
enum Field {
    Namespace,
    FlowId,
    TriggerId,
    ExecutionId,
    Date,
    NextExecutionDate,
    UpdatedDate,
}

impl Order {
    fn read(params: &Params) -> Result<Self, ApiError> {
        let mut fields = Vec::new();
        for sort in params.all("sort") {
            let (name, direction) = sort.split_once(':').unwrap_or((sort, "asc"));
            let field = match name {
                "namespace" => Field::Namespace,
                "flowId" => Field::FlowId,
                "triggerId" => Field::TriggerId,
                "executionId" => Field::ExecutionId,
                "date" => Field::Date,
                "nextExecutionDate" => Field::NextExecutionDate,
                "updatedDate" => Field::UpdatedDate,
                _ => return Err(bad_sort(sort)),
            };
            let descending = match direction {
                "asc" => false,
                "desc" => true,
                _ => return Err(bad_sort(sort)),
            };
            fields.push((field, descending));
        }
        Ok(Self(fields))
    }

    fn compare(&self, a: &TriggerState, b: &TriggerState) -> Ordering {
        self.0
            .iter()
            .map(|(field, descending)| {
                let ordering = field.compare(a, b);
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or_else(|| a.key.cmp(&b.key))
    }
}

impl Field {
    fn compare(self, a: &TriggerState, b: &TriggerState) -> Ordering {
        match self {
            Field::Namespace => a.key.namespace.cmp(&b.key.namespace),
            Field::FlowId => a.key.flow_id.cmp(&b.key.flow_id),
            Field::TriggerId => a.key.trigger_id.cmp(&b.key.trigger_id),
            Field::ExecutionId => a.execution_id.cmp(&b.execution_id),
            Field::Date => a.date.cmp(&b.date),
            Field::NextExecutionDate => a.next_execution_date.cmp(&b.next_execution_date),
            Field::UpdatedDate => a.updated_date.cmp(&b.updated_date),
        }
    }
}

fn bad_sort(sort: &str) -> ApiError {
    ApiError::invalid(format!(
        "query parameter 'sort' must be field:asc or field:desc with field one of namespace, \
         flowId, triggerId, executionId, date, nextExecutionDate, updatedDate; found '{sort}'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_triggers_as_written() {
        let source = "id: f\nnamespace: a\ntriggers:\n  - id: tick\n    type: \
                      io.kestra.plugin.core.trigger.Schedule\n    cron: \"* * * * *\"\n";
        let triggers = written_triggers(source);
        assert_eq!(
            definition(&triggers, "tick"),
            Some(&json!({
                "id": "tick",
                "type": "io.kestra.plugin.core.trigger.Schedule",
                "cron": "* * * * *"
            }))
        );
        assert_eq!(definition(&triggers, "other"), None);
        assert!(written_triggers("id: f\nnamespace: a\n").is_empty());
        assert!(written_triggers("id: [").is_empty());
    }

    #[test]
    fn sorts_by_the_fields_given() {
        let state = |flow: &str, next: Option<i64>| {
            let mut state =
                TriggerState::new(TriggerKey::new("a", flow, "t"), Timestamp::UNIX_EPOCH);
            state.next_execution_date =
                next.map(|second| Timestamp::from_second(second).expect("an instant"));
            state
        };
        let (x, y) = (state("x", Some(2)), state("y", Some(1)));
        let order = |query: &str| Order::read(&Params::parse(query)).expect("a valid sort");
        assert_eq!(order("").compare(&x, &y), Ordering::Less);
        assert_eq!(order("sort=flowId:desc").compare(&x, &y), Ordering::Greater);
        assert_eq!(
            order("sort=nextExecutionDate:asc").compare(&x, &y),
            Ordering::Greater
        );
        assert!(Order::read(&Params::parse("sort=cron:asc")).is_err());
        assert!(Order::read(&Params::parse("sort=date:up")).is_err());
    }
}
