//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, written from the route tables (paths,
//! parameters, bodies, statuses) plus the hand-written schemas below.
//!
//! Generated rather than derived (utoipa) because the JSON types live in the pure model crate,
//! which must not depend on a web framework; the router and this document read the same tables,
//! and a test checks that every served route is documented.

use std::sync::OnceLock;

use axum::Json;
use axum::http::Method;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::routes::{self, Endpoint, Reply, Route};

pub(crate) fn routes() -> Vec<Route> {
    vec![Route {
        endpoint: Endpoint {
            method: Method::GET,
            path: "/api/v1/openapi.json",
            operation_id: "openapi",
            tag: "Server",
            summary: "This OpenAPI document",
            query: &[],
            body: None,
            reply: Reply::json("OpenApi"),
            errors: &[],
        },
        handler: get(serve),
    }]
}

async fn serve() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document).clone())
}

/// The whole document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for route in routes::all() {
        let endpoint = route.endpoint;
        let item = paths
            .entry(endpoint.path.to_string())
            .or_insert_with(|| json!({}));
        if let Value::Object(item) = item {
            item.insert(
                endpoint.method.as_str().to_ascii_lowercase(),
                operation(&endpoint),
            );
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Peregrine",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Kestra's REST API, served by Peregrine: Kestra paths and JSON shapes \
                            (camelCase, nulls omitted). Errors are {\"message\"}; validation \
                            errors add \"errors\", one \"line:col: path: message\" each."
        },
        "paths": paths,
        "components": { "schemas": with_more_schemas(schemas()) },
    })
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters: Vec<Value> = path_params(endpoint.path)
        .map(|name| {
            json!({
                "name": name, "in": "path", "required": true,
                "schema": { "type": "string" }
            })
        })
        .collect();
    for param in endpoint.query {
        let schema = if param.repeated {
            json!({ "type": "array", "items": { "type": param.kind } })
        } else {
            json!({ "type": param.kind })
        };
        parameters.push(json!({
            "name": param.name, "in": "query", "required": false,
            "description": param.description, "schema": schema,
            "explode": true
        }));
    }
    let mut responses = Map::new();
    let success = match endpoint.reply.body {
        Some((media, schema)) => json!({
            "description": "Success",
            "content": { media: { "schema": schema_ref(schema) } }
        }),
        None => json!({ "description": "Success, no content" }),
    };
    responses.insert(endpoint.reply.status.to_string(), success);
    for status in endpoint.errors.iter().chain(&[500]) {
        responses.insert(
            status.to_string(),
            json!({
                "description": error_description(*status),
                "content": { "application/json": { "schema": schema_ref("Error") } }
            }),
        );
    }
    let mut operation = json!({
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "operationId": endpoint.operation_id,
        "parameters": parameters,
        "responses": responses,
    });
    if let (Some(media), Value::Object(object)) = (endpoint.body, &mut operation) {
        let schema = match media {
            "multipart/form-data" => json!({
                "type": "object",
                "description": "One part per input, named after the input id",
                "additionalProperties": { "type": "string" }
            }),
            "application/json" => json!({ "description": "A JSON document" }),
            "text/plain" => json!({ "type": "string" }),
            _ => json!({ "type": "string", "description": "Flow YAML" }),
        };
        object.insert(
            "requestBody".into(),
            json!({ "required": false, "content": { media: { "schema": schema } } }),
        );
    }
    operation
}

/// The `{name}` segments of a path.
pub(crate) fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|segment| {
        segment
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
    })
}

/// `Name` or `[Name]` (a list of them) to a schema.
fn schema_ref(name: &str) -> Value {
    match name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(item) => json!({ "type": "array", "items": schema_ref(item) }),
        None => json!({ "$ref": format!("#/components/schemas/{name}") }),
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        404 => "Not found",
        409 => "Conflict with the current state",
        415 => "Unsupported media type",
        422 => "Invalid request (every problem listed in errors)",
        _ => "Server error",
    }
}

/// The schemas of the key-value store, namespaces, triggers and bulk answers, added to
/// `schemas`.
fn with_more_schemas(mut schemas: Value) -> Value {
    let more = json!({
        "KVEntry": {
            "type": "object",
            "properties": {
                "key": { "type": "string" },
                "description": { "type": "string" },
                "creationDate": { "type": "string", "format": "date-time" },
                "updateDate": { "type": "string", "format": "date-time" },
                "expirationDate": { "type": "string", "format": "date-time" }
            },
            "required": ["key", "creationDate", "updateDate"]
        },
        "KVTypedValue": {
            "type": "object",
            "properties": {
                "type": { "type": "string", "enum": ["STRING", "NUMBER", "BOOLEAN", "DATETIME",
                                                     "DATE", "DURATION", "JSON"] },
                "value": {}
            },
            "required": ["type", "value"]
        },
        "Namespace": {
            "type": "object",
            "properties": { "id": { "type": "string" }, "deleted": { "type": "boolean" } },
            "required": ["id", "deleted"]
        },
        "PagedNamespaces": {
            "type": "object",
            "properties": {
                "results": { "type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string" },
                        "deleted": { "type": "boolean" },
                        "disabled": { "type": "boolean" }
                    }
                }},
                "total": { "type": "integer" }
            }
        },
        "BulkResponse": {
            "type": "object",
            "properties": { "count": { "type": "integer" } }
        },
        "Trigger": {
            "type": "object",
            "description": "The scheduler's state of one trigger of a flow",
            "properties": {
                "namespace": { "type": "string" },
                "flowId": { "type": "string" },
                "triggerId": { "type": "string" },
                "date": { "type": "string", "format": "date-time",
                          "description": "The slot last fired or passed over" },
                "nextExecutionDate": { "type": "string", "format": "date-time" },
                "disabled": { "type": "boolean" },
                "executionId": { "type": "string",
                                 "description": "The execution it waits for (locked)" },
                "updatedDate": { "type": "string", "format": "date-time" }
            },
            "required": ["namespace", "flowId", "triggerId", "date", "disabled"]
        },
        "PagedTriggers": {
            "type": "object",
            "properties": {
                "results": { "type": "array", "items": { "$ref": "#/components/schemas/Trigger" } },
                "total": { "type": "integer" }
            }
        },
        "PagedTriggersWithDefinition": {
            "type": "object",
            "properties": {
                "results": { "type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "abstractTrigger": {
                            "type": ["object", "null"],
                            "description": "The trigger as the flow defines it"
                        },
                        "triggerContext": { "$ref": "#/components/schemas/Trigger" }
                    }
                }},
                "total": { "type": "integer" }
            }
        },
        "Boolean": { "type": "boolean" },
        "FileAttributes": {
            "type": "object",
            "properties": {
                "fileName": { "type": "string" },
                "lastModifiedTime": { "type": "integer" },
                "creationTime": { "type": "integer" },
                "type": { "type": "string", "enum": ["File", "Directory"] },
                "size": { "type": "integer" },
                "metadata": { "type": "object", "additionalProperties": { "type": "string" } }
            },
            "required": ["fileName", "type", "size"]
        },
        "FileContent": { "type": "string", "format": "binary" }
    });
    if let (Value::Object(schemas), Value::Object(more)) = (&mut schemas, more) {
        schemas.extend(more);
    }
    schemas
}

fn schemas() -> Value {
    let state = json!({
        "type": "object",
        "properties": {
            "current": { "$ref": "#/components/schemas/StateType" },
            "histories": { "type": "array", "items": {
                "type": "object",
                "properties": {
                    "state": { "$ref": "#/components/schemas/StateType" },
                    "date": { "type": "string", "format": "date-time" }
                }
            }},
            "startDate": { "type": "string", "format": "date-time" },
            "endDate": { "type": "string", "format": "date-time" },
            "duration": { "type": "string", "description": "ISO-8601 duration" }
        },
        "required": ["current", "histories"]
    });
    let object = json!({ "type": "object", "additionalProperties": true });
    let flow_properties = json!({
        "id": { "type": "string" },
        "namespace": { "type": "string" },
        "revision": { "type": "integer" },
        "description": { "type": "string" },
        "labels": { "type": "array", "items": { "$ref": "#/components/schemas/Label" } },
        "inputs": { "type": "array", "items": object },
        "variables": object,
        "tasks": { "type": "array", "items": object },
        "errors": { "type": "array", "items": object },
        "finally": { "type": "array", "items": object },
        "triggers": { "type": "array", "items": object },
        "disabled": { "type": "boolean" },
        "deleted": { "type": "boolean" }
    });
    let mut with_source = flow_properties.clone();
    if let Value::Object(properties) = &mut with_source {
        properties.insert(
            "source".into(),
            json!({ "type": "string", "description": "The YAML as written" }),
        );
    }
    json!({
        "Error": {
            "type": "object",
            "properties": {
                "message": { "type": "string" },
                "errors": { "type": "array", "items": { "type": "string" },
                            "description": "line:col: path: message" }
            },
            "required": ["message"]
        },
        "Health": { "type": "object", "properties": { "status": { "type": "string", "enum": ["UP"] } } },
        "PrometheusText": { "type": "string" },
        "LogText": { "type": "string" },
        "OpenApi": object,
        "Label": {
            "type": "object",
            "properties": { "key": { "type": "string" }, "value": { "type": "string" } }
        },
        "StateType": {
            "type": "string",
            "enum": ["CREATED", "SUBMITTED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS",
                     "WARNING", "FAILED", "KILLED", "CANCELLED", "QUEUED", "RETRYING", "RETRIED",
                     "SKIPPED", "BREAKPOINT", "RESUBMITTED"]
        },
        "State": state,
        "Flow": {
            "type": "object",
            "description": "A flow; its full schema is printed by `peregrine flow schema`",
            "properties": flow_properties,
            "required": ["id", "namespace", "tasks"],
            "additionalProperties": true
        },
        "FlowWithSource": {
            "type": "object",
            "properties": with_source,
            "required": ["id", "namespace", "tasks", "source"],
            "additionalProperties": true
        },
        "PagedFlows": {
            "type": "object",
            "properties": {
                "results": { "type": "array", "items": { "$ref": "#/components/schemas/Flow" } },
                "total": { "type": "integer" }
            }
        },
        "ValidateConstraintViolation": {
            "type": "object",
            "properties": {
                "index": { "type": "integer" },
                "flow": { "type": "string" },
                "namespace": { "type": "string" },
                "constraints": { "type": "string", "description": "Problems, one line:col: path: message a line; absent when valid" },
                "outdated": { "type": "boolean" },
                "deprecationPaths": { "type": "array", "items": { "type": "string" } },
                "warnings": { "type": "array", "items": { "type": "string" } },
                "infos": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["index"]
        },
        "TaskRun": {
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "executionId": { "type": "string" },
                "namespace": { "type": "string" },
                "flowId": { "type": "string" },
                "taskId": { "type": "string" },
                "parentTaskRunId": { "type": "string" },
                "value": { "type": "string" },
                "iteration": { "type": "integer" },
                "attempts": { "type": "array", "items": object },
                "outputs": object,
                "state": { "$ref": "#/components/schemas/State" }
            }
        },
        "Execution": {
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "namespace": { "type": "string" },
                "flowId": { "type": "string" },
                "flowRevision": { "type": "integer" },
                "state": { "$ref": "#/components/schemas/State" },
                "taskRunList": { "type": "array", "items": { "$ref": "#/components/schemas/TaskRun" } },
                "inputs": object,
                "outputs": object,
                "labels": { "type": "array", "items": { "$ref": "#/components/schemas/Label" } },
                "variables": object,
                "parentId": { "type": "string" },
                "originalId": { "type": "string" },
                "trigger": object,
                "metadata": object,
                "scheduleDate": { "type": "string", "format": "date-time" },
                "deleted": { "type": "boolean" },
                "url": { "type": "string", "description": "Where the UI shows it (on creation)" }
            },
            "required": ["id", "namespace", "flowId", "flowRevision", "state"]
        },
        "PagedExecutions": {
            "type": "object",
            "properties": {
                "results": { "type": "array", "items": { "$ref": "#/components/schemas/Execution" } },
                "total": { "type": "integer" }
            }
        },
        "PagedLogs": {
            "type": "object",
            "properties": {
                "results": { "type": "array", "items": { "$ref": "#/components/schemas/LogEntry" } },
                "total": { "type": "integer" }
            }
        },
        "LogEntry": {
            "type": "object",
            "properties": {
                "namespace": { "type": "string" },
                "flowId": { "type": "string" },
                "executionId": { "type": "string" },
                "taskId": { "type": "string" },
                "taskRunId": { "type": "string" },
                "attemptNumber": { "type": "integer" },
                "timestamp": { "type": "string", "format": "date-time" },
                "level": { "type": "string", "enum": ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] },
                "message": { "type": "string" }
            }
        }
    })
}
