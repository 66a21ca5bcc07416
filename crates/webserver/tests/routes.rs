//! The router against ports that hold nothing: every route of the OpenAPI document is served
//! (and every served route is in the document, since both read the same tables), errors are
//! JSON with Kestra's statuses.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::Timestamp;
use peregrine_model::execution::Execution;
use peregrine_model::log::LogEntry;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::kv::StorageKv;
use peregrine_ports::memory::{MemoryExecutions, MemoryFlows, MemoryStorage};
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionUpdates, LogRepository, StartRequest,
};
use peregrine_webserver::WebserverOptions;
use serde_json::{Map, Value};
use tower::ServiceExt;

/// Commands that know no execution.
struct Empty;

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(async move { value })
}

fn unknown(id: &str) -> Error {
    Error::NotFound {
        what: "execution",
        id: id.to_string(),
    }
}

impl ExecutionCommands for Empty {
    fn start(&self, request: StartRequest) -> BoxFuture<'_, Result<Execution, Error>> {
        ready(Err(Error::NotFound {
            what: "flow",
            id: format!("{}.{}", request.namespace, request.flow_id),
        }))
    }
    fn kill(&self, id: &str) -> BoxFuture<'_, Result<(), Error>> {
        ready(Err(unknown(id)))
    }
    fn resume(&self, id: &str, _: Option<Map<String, Value>>) -> BoxFuture<'_, Result<(), Error>> {
        ready(Err(unknown(id)))
    }
    fn follow(&self, id: &str) -> BoxFuture<'_, Result<ExecutionUpdates, Error>> {
        ready(Err(unknown(id)))
    }
}

fn router() -> axum::Router {
    router_with(Arc::new(StorageKv::new(Arc::new(MemoryStorage::new()))))
}

/// The router over empty ports and the given key-value store.
fn router_with(kv: Arc<StorageKv>) -> axum::Router {
    router_over(kv, Arc::new(MemoryExecutions::new()))
}

/// The router over the given key-value store and executions (with their logs); no flows, and
/// commands that know no execution.
fn router_over(kv: Arc<StorageKv>, executions: Arc<MemoryExecutions>) -> axum::Router {
    WebserverOptions {
        flows: Arc::new(MemoryFlows::new()),
        executions: executions.clone(),
        logs: executions,
        commands: Arc::new(Empty),
        kv,
        storage: Arc::new(MemoryStorage::new()),
        triggers: Arc::new(peregrine_ports::memory::MemoryTriggers::new()),
        registry: Arc::new(peregrine_model::core_registry()),
        expressions: None,
        metrics: Some(Arc::new(|out: &mut String| {
            out.push_str("peregrine_test_total 1\n")
        })),
    }
    .build()
    .router()
}

async fn call(method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    call_on(router(), method, uri, &[], body).await
}

async fn call_on(
    router: axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let (status, text) = call("GET", "/api/v1/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
    let document: Value = serde_json::from_str(&text).expect("JSON");
    let paths = document["paths"].as_object().expect("paths");
    let mut count = 0;
    for (path, item) in paths {
        let uri = path.replace(['{', '}'], "");
        for method in item.as_object().expect("operations").keys() {
            count += 1;
            let (status, body) = call(&method.to_ascii_uppercase(), &uri, "").await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !body.contains("no route for"),
                "{method} {path} is not served: {body}"
            );
            let operation = &item[method];
            assert!(operation["operationId"].is_string(), "{method} {path}");
            for (_, response) in operation["responses"].as_object().expect("responses") {
                let schema = &response["content"];
                let text = schema.to_string();
                for reference in text.split("#/components/schemas/").skip(1) {
                    let name = reference.split('"').next().unwrap_or_default();
                    assert!(
                        document["components"]["schemas"][name].is_object(),
                        "{method} {path} refers to an unknown schema {name}"
                    );
                }
            }
        }
    }
    assert!(count >= 22, "only {count} operations documented");
}

#[tokio::test]
async fn errors_are_json_with_kestra_statuses() {
    let cases = [
        ("GET", "/api/v1/flows/a/b", "", StatusCode::NOT_FOUND),
        ("GET", "/api/v1/executions/nope", "", StatusCode::NOT_FOUND),
        ("GET", "/api/v1/nothing/here", "", StatusCode::NOT_FOUND),
        (
            "POST",
            "/api/v1/flows",
            "id: [",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v1/flows/search?page=0",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v1/executions/search?state=DONE",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v1/logs/x?minLevel=LOUD",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/v1/executions/a/b?labels=system.x:1",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/v1/executions/a/b",
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "DELETE",
            "/api/v1/executions/x/kill",
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/api/v1/executions/x/labels",
            "[]",
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/api/v1/executions/x/labels",
            "[{\"key\": \"a\"}]",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/v1/executions/labels/by-ids",
            "{\"executionsId\": [\"x\"], \"executionLabels\": []}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/api/v1/executions/x/replay?revision=last",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v1/namespaces/company/kv/missing",
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "PUT",
            "/api/v1/namespaces/company/kv/.bad",
            "1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "PUT",
            "/api/v1/namespaces/company/kv/key",
            "two words",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "GET",
            "/api/v1/namespaces/search?sort=name:up",
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (method, uri, body, expected) in cases {
        let (status, text) = call(method, uri, body).await;
        assert_eq!(status, expected, "{method} {uri}: {text}");
        let value: Value = serde_json::from_str(&text).expect("a JSON error");
        assert!(value["message"].is_string(), "{method} {uri}: {text}");
    }
}

#[tokio::test]
async fn invalid_flows_list_every_problem_with_its_line() {
    let source = "id: a\nnamespace: n\ntasks:\n  - id: x\n    type: io.kestra.plugin.core.flow.Nope\n  - id: x\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks: []\n";
    let (status, text) = call("POST", "/api/v1/flows", source).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let value: Value = serde_json::from_str(&text).expect("JSON");
    let errors: Vec<&str> = value["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(errors[0].starts_with("5:11: tasks[0].type: "), "{errors:?}");
    assert!(
        value["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("Invalid entity: 5:11:"))
    );
}

#[tokio::test]
async fn validates_each_document_of_a_body() {
    let body = "id: a\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.flow.Pause\n---\nid: b\nnamespace: n\ntasks: []\n";
    let (status, text) = call("POST", "/api/v1/flows/validate", body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let results: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(results[0]["flow"], "a");
    assert!(results[0].get("constraints").is_none(), "{text}");
    assert_eq!(results[1]["index"], 1);
    assert_eq!(results[1]["flow"], "b");
    let constraints = results[1]["constraints"].as_str().expect("constraints");
    assert!(
        constraints.starts_with("9:"),
        "line in the whole body: {constraints}"
    );
}

#[tokio::test]
async fn health_and_metrics() {
    let (status, text) = call("GET", "/health", "").await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "{\"status\":\"UP\"}")
    );
    let (status, text) = call("GET", "/metrics", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("# TYPE peregrine_webserver_responses_total counter"));
    assert!(text.contains("peregrine_test_total 1"));
}

#[tokio::test]
async fn keys_are_put_read_listed_and_deleted() {
    let router = router_with(Arc::new(StorageKv::new(Arc::new(MemoryStorage::new()))));
    let call = |method: &'static str, uri: &'static str, headers, body: &'static str| {
        call_on(router.clone(), method, uri, headers, body)
    };
    let base = "/api/v1/namespaces/company/kv";
    let (status, _) = call(
        "PUT",
        "/api/v1/namespaces/company/kv/greeting",
        &[],
        "\"hello\"",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ttl: &[(&str, &str)] = &[("ttl", "PT1H")];
    let (status, _) = call("PUT", "/api/v1/namespaces/company/kv/count", ttl, "42").await;
    assert_eq!(status, StatusCode::OK);
    let (status, text) = call("GET", "/api/v1/namespaces/company/kv/count", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON"),
        serde_json::json!({ "type": "NUMBER", "value": 42 })
    );
    let (_, text) = call("GET", base, &[], "").await;
    let entries: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(entries[0]["key"], "count");
    assert!(entries[0]["expirationDate"].is_string(), "{text}");
    assert_eq!(entries[1]["key"], "greeting");
    assert!(entries[1].get("expirationDate").is_none(), "{text}");
    assert!(entries[1]["creationDate"].is_string(), "{text}");
    let bad_ttl: &[(&str, &str)] = &[("ttl", "soon")];
    let (status, text) = call("PUT", "/api/v1/namespaces/company/kv/count", bad_ttl, "1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text.contains("ttl"), "{text}");
    let (status, text) = call("DELETE", "/api/v1/namespaces/company/kv/count", &[], "").await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "true"));
    let (_, text) = call("DELETE", "/api/v1/namespaces/company/kv/count", &[], "").await;
    assert_eq!(text, "false");
    let (status, _) = call("GET", "/api/v1/namespaces/company/kv/count", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn namespaces_without_flows_are_the_system_one() {
    let (status, text) = call("GET", "/api/v1/namespaces/search", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("JSON"),
        serde_json::json!({
            "results": [{ "id": "system", "deleted": false, "disabled": true }],
            "total": 1
        })
    );
    let (status, text) = call("GET", "/api/v1/namespaces/company.team", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "{\"id\":\"company.team\",\"deleted\":false}");
}

#[tokio::test]
async fn log_search_filters_and_pages_across_executions() {
    let executions = Arc::new(MemoryExecutions::new());
    let line = |namespace: &str, second: i64, message: &str| LogEntry {
        namespace: namespace.into(),
        flow_id: "f".into(),
        execution_id: format!("e{second}"),
        task_id: None,
        task_run_id: None,
        attempt_number: None,
        timestamp: Timestamp::from_second(1_767_225_600 + second).expect("instant"),
        level: peregrine_model::log::LogLevel::Info,
        message: message.into(),
    };
    executions
        .append(vec![
            line("company.team", 0, "first hello"),
            line("other", 1, "hello elsewhere"),
            line("company", 2, "second HELLO"),
            line("company", 3, "bye"),
        ])
        .await
        .expect("append");
    let kv = Arc::new(StorageKv::new(Arc::new(MemoryStorage::new())));
    let search = |query: &'static str| {
        let router = router_over(kv.clone(), executions.clone());
        async move {
            let uri = format!("/api/v1/logs/search?{query}");
            let (status, body) = call_on(router, "GET", &uri, &[], "").await;
            let found: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let messages: Vec<String> = found["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|line| line["message"].as_str().map(str::to_string))
                .collect();
            (status, messages, found["total"].clone(), body)
        }
    };

    let (status, messages, total, _) = search("namespace=company&q=hello").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(messages, ["second HELLO", "first hello"], "newest first");
    assert_eq!(total, 2);
    let (_, messages, total, _) = search("size=1&page=2&sort=timestamp:asc").await;
    assert_eq!(
        (messages, total),
        (vec!["hello elsewhere".to_string()], 4.into())
    );
    let (_, messages, _, _) =
        search("startDate=2026-01-01T00:00:01Z&endDate=2026-01-01T01:00:02%2B01:00[Europe/Paris]")
            .await;
    assert_eq!(
        messages,
        ["second HELLO", "hello elsewhere"],
        "both ends count"
    );
    for bad in [
        "sort=level",
        "startDate=yesterday",
        "minLevel=LOUD",
        "size=0",
    ] {
        let (status, _, _, body) = search(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
}
