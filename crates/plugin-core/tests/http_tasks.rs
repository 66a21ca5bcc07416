//! http.Request and http.Download against a local server: bodies, headers, response codes,
//! redirects, authentication, files in internal storage, timeouts and kill.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_plugin_api::{TaskError, TaskServices};
use serde_json::{Value, json};
use support::http_server::Server;

fn failure(result: Result<serde_json::Map<String, Value>, TaskError>) -> String {
    match result {
        Err(TaskError::Failed(message)) => message,
        other => format!("not a failure: {other:?}"),
    }
}

#[tokio::test]
async fn get_gives_code_headers_and_body() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({"id": "get", "type": "http.Request", "uri": server.url("/hello")});
    let outputs = support::run(&services, task).await.expect("a response");
    assert_eq!(outputs["code"], json!(200));
    assert_eq!(outputs["body"], json!(r#"{"hello":"world"}"#));
    assert_eq!(outputs["uri"], json!(server.url("/hello")));
    assert_eq!(
        outputs["headers"]["content-type"],
        json!(["application/json"])
    );
    assert_eq!(outputs["headers"]["x-answer"], json!(["42"]));
    let received = server.next_request();
    assert_eq!(received.method, "GET");
    assert_eq!(received.header("user-agent"), Some("Kestra"));
    assert!(received.body.is_empty());
}

#[tokio::test]
async fn post_sends_the_rendered_body_and_headers() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "post",
        "type": "http.Request",
        "uri": server.url("/echo"),
        "method": "POST",
        "body": "{{ inputs.payload }}",
        "headers": {"X-Test": "{{ flow.id }}"},
    });
    let context = support::context(
        &services,
        task,
        json!({"payload": "{\"title\": \"Kestra Pen\"}"}),
        Arc::default(),
    );
    let outputs = support::run_in(&context).await.expect("a response");
    assert_eq!(outputs["code"], json!(201));
    assert_eq!(outputs["body"], json!("{\"title\": \"Kestra Pen\"}"));
    assert_eq!(
        outputs["headers"]["x-content-type"],
        json!(["application/json; charset=UTF-8"])
    );
    assert_eq!(outputs["headers"]["x-test"], json!(["my_flow"]));
    let received = server.next_request();
    assert_eq!(received.method, "POST");
}

#[tokio::test]
async fn form_data_is_url_encoded_or_multipart() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let form = json!({
        "id": "form",
        "type": "http.Request",
        "uri": server.url("/echo"),
        "method": "POST",
        "formData": {"user": "John Doe", "team": "{{ flow.namespace }}"},
    });
    let outputs = support::run(&services, form).await.expect("a response");
    assert_eq!(outputs["body"], json!("user=John+Doe&team=company.team"));
    assert_eq!(
        outputs["headers"]["x-content-type"],
        json!(["application/x-www-form-urlencoded; charset=UTF-8"])
    );

    let write = json!({"id": "write", "type": "storage.Write", "content": "a,b\n1,2\n", "extension": ".csv"});
    let file = support::run(&services, write).await.expect("a file")["uri"].clone();
    let multipart = json!({
        "id": "upload",
        "type": "http.Request",
        "uri": server.url("/echo"),
        "method": "POST",
        "contentType": "multipart/form-data",
        "formData": {
            "user": "John",
            "url": "{{ inputs.file }}",
            "named": {"name": "orders.csv", "content": "{{ inputs.file }}"},
        },
    });
    let context = support::context(&services, multipart, json!({"file": file}), Arc::default());
    let outputs = support::run_in(&context).await.expect("a response");
    let content_type = outputs["headers"]["x-content-type"][0]
        .as_str()
        .unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = outputs["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("name=\"user\"\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nJohn\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"named\"; filename=\"orders.csv\""),
        "{body}"
    );
    assert_eq!(body.matches("a,b\n1,2\n").count(), 2, "{body}");
}

#[tokio::test]
async fn failed_codes_fail_unless_allowed() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let missing = json!({"id": "r", "type": "http.Request", "uri": server.url("/missing")});
    assert_eq!(
        failure(support::run(&services, missing.clone()).await),
        "Failed http request with response code '404' and body:\nnot here"
    );

    let mut allowed = missing.clone();
    allowed["options"] = json!({"allowFailed": true});
    let outputs = support::run(&services, allowed).await.expect("allowed");
    assert_eq!(outputs["code"], json!(404));
    assert_eq!(outputs["body"], json!("not here"));

    let mut deprecated = missing.clone();
    deprecated["allowFailed"] = json!(true);
    assert!(support::run(&services, deprecated).await.is_ok());

    let mut listed = missing.clone();
    listed["options"] = json!({"allowedResponseCodes": [404]});
    assert!(support::run(&services, listed).await.is_ok());

    let mut unlisted = json!({"id": "r", "type": "http.Request", "uri": server.url("/hello")});
    unlisted["options"] = json!({"allowedResponseCodes": [201]});
    assert!(failure(support::run(&services, unlisted).await).contains("'200'"));
}

#[tokio::test]
async fn no_content_has_no_body_and_redirects_follow_unless_told() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let none = json!({"id": "r", "type": "http.Request", "uri": server.url("/no-content")});
    let outputs = support::run(&services, none).await.expect("a response");
    assert_eq!(outputs["code"], json!(204));
    assert_eq!(outputs.get("body"), None);

    let redirect = json!({"id": "r", "type": "http.Request", "uri": server.url("/redirect")});
    let outputs = support::run(&services, redirect.clone())
        .await
        .expect("followed");
    assert_eq!(outputs["code"], json!(200));
    assert_eq!(outputs["body"], json!(r#"{"hello":"world"}"#));

    let mut stay = redirect;
    stay["options"] = json!({"followRedirects": false});
    let outputs = support::run(&services, stay).await.expect("not followed");
    assert_eq!(outputs["code"], json!(302));
    assert_eq!(outputs["headers"]["location"], json!(["/hello"]));
}

#[tokio::test]
async fn basic_and_bearer_authentication() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let basic = json!({
        "id": "r", "type": "http.Request", "uri": server.url("/hello"),
        "options": {"auth": {"type": "BASIC", "username": "admin", "password": "secret"}},
    });
    support::run(&services, basic).await.expect("a response");
    assert_eq!(
        server.next_request().header("authorization"),
        Some("Basic YWRtaW46c2VjcmV0")
    );
    let deprecated = json!({
        "id": "r", "type": "http.Request", "uri": server.url("/hello"),
        "options": {"basicAuthUser": "admin", "basicAuthPassword": "secret"},
    });
    support::run(&services, deprecated)
        .await
        .expect("a response");
    assert_eq!(
        server.next_request().header("authorization"),
        Some("Basic YWRtaW46c2VjcmV0")
    );
    let bearer = json!({
        "id": "r", "type": "http.Request", "uri": server.url("/hello"),
        "headers": {"Authorization": "replaced"},
        "options": {"auth": {"type": "BEARER", "token": "t0k3n"}},
    });
    support::run(&services, bearer).await.expect("a response");
    assert_eq!(
        server.next_request().header("authorization"),
        Some("Bearer t0k3n")
    );
}

#[tokio::test]
async fn logs_what_the_options_ask_for() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "r", "type": "http.Request", "uri": server.url("/hello"),
        "options": {"logs": ["REQUEST_HEADERS", "RESPONSE_BODY"]},
    });
    let lines = Arc::new(support::Lines::default());
    let context = support::context(&services, task, json!({}), lines.clone());
    support::run_in(&context).await.expect("a response");
    let messages = lines.messages();
    assert!(
        messages.iter().any(|m| m.starts_with("request headers:")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m == "response payload:\n    {\"hello\":\"world\"}"),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.starts_with("response headers:")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn read_idle_timeout_and_connection_errors_fail() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "r", "type": "http.Request", "uri": server.url("/slow"),
        "options": {"timeout": {"readIdleTimeout": "PT0.3S"}},
    });
    let started = Instant::now();
    let message = failure(support::run(&services, task).await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        message.contains("timeout") || message.contains("timed out"),
        "{message}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = closed.local_addr().expect("an address");
    drop(closed);
    let refused = json!({"id": "r", "type": "http.Request", "uri": format!("http://{address}/")});
    let message = failure(support::run(&services, refused).await);
    assert!(
        message.starts_with(&format!("request to 'http://{address}/' failed")),
        "{message}"
    );
}

#[tokio::test]
async fn a_kill_stops_the_call() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({"id": "r", "type": "http.Request", "uri": server.url("/slow")});
    let context = support::context(&services, task, json!({}), Arc::default());
    let cancel = context.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let result = support::run_in(&context).await;
    assert_eq!(result, Err(TaskError::Killed));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn download_stores_the_body_in_internal_storage() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({"id": "dl", "type": "http.Download", "uri": server.url("/data/orders.csv")});
    let context = support::context(&services, task, json!({}), Arc::default());
    let outputs = support::run_in(&context).await.expect("a download");
    assert_eq!(outputs["code"], json!(200));
    assert_eq!(outputs["length"], json!(19));
    assert_eq!(outputs["headers"]["content-type"], json!(["text/csv"]));
    let uri = outputs["uri"].as_str().unwrap_or_default();
    assert!(
        uri.starts_with("kestra:///company/team/my-flow/executions/exec1/tasks/dl/run1/")
            && uri.ends_with(".csv"),
        "{uri}"
    );
    let content = context
        .storage()
        .get_file(uri)
        .await
        .expect("the stored file");
    assert_eq!(content, b"id,total\n1,10\n2,20\n");

    let named = json!({"id": "dl", "type": "http.Download", "uri": server.url("/named")});
    let outputs = support::run(&services, named).await.expect("a download");
    let uri = outputs["uri"].as_str().unwrap_or_default();
    assert!(uri.ends_with("/dl/run1/report.txt"), "{uri}");
}

#[tokio::test]
async fn download_fails_on_empty_or_failed_responses_unless_told() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let empty = json!({"id": "dl", "type": "http.Download", "uri": server.url("/empty.csv")});
    assert_eq!(
        failure(support::run(&services, empty.clone()).await),
        "No response from server"
    );
    let mut lenient = empty;
    lenient["failOnEmptyResponse"] = json!(false);
    let outputs = support::run(&services, lenient)
        .await
        .expect("an empty file");
    assert_eq!(outputs["length"], json!(0));

    let missing = json!({"id": "dl", "type": "http.Download", "uri": server.url("/missing")});
    assert!(failure(support::run(&services, missing.clone()).await).contains("'404'"));
    let mut allowed = missing;
    allowed["options"] = json!({"allowFailed": true});
    let outputs = support::run(&services, allowed).await.expect("allowed");
    assert_eq!(outputs["code"], json!(404));
    assert_eq!(outputs["length"], json!(8));
}
