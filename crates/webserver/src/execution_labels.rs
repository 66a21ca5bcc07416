//! `/api/v1/executions/{executionId}/labels` and `/api/v1/executions/labels/by-ids`: the labels
//! of ended executions, set through the executor that owns them.
//!
//! One execution: the list given becomes its labels (add, change, remove); its system labels
//! stay, and a system label in the list must be one it has. By ids: the labels given are added
//! to (or change) each execution's own.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::post;
use peregrine_model::execution::Execution;
use peregrine_model::flow::Label;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::{Endpoint, Reply, Route};
use crate::state::AppState;

const SYSTEM_PREFIX: &str = "system.";

pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route {
            endpoint: Endpoint {
                method: Method::POST,
                path: "/api/v1/executions/{executionId}/labels",
                operation_id: "setLabelsOnTerminatedExecution",
                tag: crate::executions::TAG,
                summary: "Set the labels of an ended execution: the list given replaces its \
                          labels, system labels excepted",
                query: &[],
                body: Some("application/json"),
                reply: Reply::json("Execution"),
                errors: &[400, 404, 409, 422],
            },
            handler: post(set_labels),
        },
        Route {
            endpoint: Endpoint {
                method: Method::POST,
                path: "/api/v1/executions/labels/by-ids",
                operation_id: "setLabelsOnTerminatedExecutionsByIds",
                tag: crate::executions::TAG,
                summary: "Add labels to ended executions: {executionsId: [...], \
                          executionLabels: [{key, value}]}",
                query: &[],
                body: Some("application/json"),
                reply: Reply::json("BulkResponse"),
                errors: &[400, 422],
            },
            handler: post(set_labels_by_ids),
        },
    ]
}

async fn set_labels(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Execution>, ApiError> {
    let body = read_json(&body)?;
    let labels = read_labels(&body, "labels")?;
    let execution = ended(&state, &id).await?;
    let labels = replaced(&execution.labels, labels)?;
    let execution = state.options.commands.set_labels(&id, labels).await?;
    Ok(Json(execution))
}

async fn set_labels_by_ids(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = read_json(&body)?;
    let ids: Vec<String> = match body.get("executionsId") {
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| {
                id.as_str().map(str::to_string).ok_or_else(|| {
                    ApiError::invalid("executionsId must be a list of execution ids")
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::invalid(
                "executionsId is required: a list of execution ids",
            ));
        }
    };
    let labels = read_labels(
        body.get("executionLabels").unwrap_or(&Value::Null),
        "executionLabels",
    )?;
    let mut executions = Vec::new();
    let mut invalids = Vec::new();
    for id in &ids {
        match state.options.executions.get(id).await? {
            None => invalids.push(format!("{id}: execution not found")),
            Some(execution) if !execution.state.is_terminated() => {
                invalids.push(format!("{id}: execution is not terminated"));
            }
            Some(execution) => executions.push(execution),
        }
    }
    if !invalids.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "invalid bulk set labels: {}",
            invalids.join(", ")
        )));
    }
    for execution in &executions {
        let labels = added(&execution.labels, &labels)?;
        state
            .options
            .commands
            .set_labels(&execution.id, labels)
            .await?;
    }
    Ok(Json(json!({ "count": executions.len() })))
}

fn read_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::invalid(format!("the body must be JSON: {error}")))
}

/// A JSON list of `{key, value}` objects (`field` names it in errors).
fn read_labels(value: &Value, field: &str) -> Result<Vec<Label>, ApiError> {
    let Value::Array(items) = value else {
        return Err(ApiError::invalid(format!(
            "{field} must be a list of {{\"key\", \"value\"}} objects"
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let text = |name: &str| match item.get(name) {
                Some(Value::String(text)) => Ok(text.clone()),
                _ => Err(ApiError::invalid(format!(
                    "{field}[{index}].{name} must be a string"
                ))),
            };
            Ok(Label {
                key: text("key")?,
                value: text("value")?,
            })
        })
        .collect()
}

/// The execution, when it exists and has ended (Kestra answers 400 otherwise).
async fn ended(state: &AppState, id: &str) -> Result<Execution, ApiError> {
    let execution = state
        .options
        .executions
        .get(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("execution '{id}' not found")))?;
    if !execution.state.is_terminated() {
        return Err(ApiError::BadRequest(
            "The execution is not terminated".into(),
        ));
    }
    Ok(execution)
}

/// The execution's system labels, then the labels given (the last of a key wins; a label with
/// neither key nor value is dropped). A system label given must be one the execution has.
pub(crate) fn replaced(existing: &[Label], given: Vec<Label>) -> Result<Vec<Label>, ApiError> {
    let system: Vec<&Label> = existing
        .iter()
        .filter(|label| label.key.starts_with(SYSTEM_PREFIX))
        .collect();
    if let Some(offending) = given
        .iter()
        .find(|label| label.key.starts_with(SYSTEM_PREFIX) && !system.contains(label))
    {
        return Err(ApiError::invalid(format!(
            "System labels can only be set by Kestra itself, offending label: {}={}",
            offending.key, offending.value
        )));
    }
    let mut labels: Vec<Label> = system.into_iter().cloned().collect();
    for label in given {
        if label.key.starts_with(SYSTEM_PREFIX) || label.key.is_empty() && label.value.is_empty() {
            continue;
        }
        labels.retain(|existing| existing.key != label.key);
        labels.push(label);
    }
    Ok(labels)
}

/// The execution's labels with the given ones added or changed.
fn added(existing: &[Label], given: &[Label]) -> Result<Vec<Label>, ApiError> {
    let mut all: Vec<Label> = existing.to_vec();
    for label in given {
        match all.iter_mut().find(|existing| existing.key == label.key) {
            Some(existing) => existing.value = label.value.clone(),
            None => all.push(label.clone()),
        }
    }
    replaced(existing, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(key: &str, value: &str) -> Label {
        Label {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn replaces_labels_but_system_ones() {
        let existing = [label("system.correlationId", "abc"), label("team", "a")];
        let labels = replaced(&existing, vec![label("env", "prod"), label("", "")]);
        assert_eq!(
            labels,
            Ok(vec![
                label("system.correlationId", "abc"),
                label("env", "prod")
            ])
        );
        let kept = replaced(
            &existing,
            vec![label("system.correlationId", "abc"), label("team", "b")],
        );
        assert_eq!(
            kept,
            Ok(vec![
                label("system.correlationId", "abc"),
                label("team", "b")
            ])
        );
        assert!(replaced(&existing, vec![label("system.readOnly", "true")]).is_err());
        assert!(replaced(&existing, vec![label("system.correlationId", "other")]).is_err());
    }

    #[test]
    fn adds_labels_in_bulk() {
        let existing = [label("system.correlationId", "abc"), label("team", "a")];
        assert_eq!(
            added(&existing, &[label("team", "b"), label("env", "prod")]),
            Ok(vec![
                label("system.correlationId", "abc"),
                label("team", "b"),
                label("env", "prod")
            ])
        );
    }

    #[test]
    fn names_the_bad_field() {
        let error = read_labels(&json!([{"key": "a"}]), "labels");
        assert_eq!(
            error,
            Err(ApiError::invalid("labels[0].value must be a string"))
        );
        assert!(read_labels(&json!({"key": "a"}), "labels").is_err());
    }
}
