//! What the routes hand the command port: multipart files for FILE inputs (both of Kestra's
//! ways of naming them), and webhook calls with their body, headers and parameters; what they
//! answer for each webhook outcome.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::Timestamp;
use peregrine_model::execution::{Execution, ExecutionMetadata, StateHistory};
use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::memory::{MemoryExecutions, MemoryFlows};
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionUpdates, InputFile, StartRequest, WebhookCall,
    WebhookOutcome,
};
use peregrine_webserver::WebserverOptions;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// The inputs and files of a resume.
type Resume = (Option<Map<String, Value>>, Vec<InputFile>);

/// Records what it is asked; a webhook's outcome depends on its key.
#[derive(Default)]
struct Recording {
    starts: Mutex<Vec<StartRequest>>,
    resumes: Mutex<Vec<Resume>>,
    webhooks: Mutex<Vec<WebhookCall>>,
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(async move { value })
}

fn execution(state: State) -> Execution {
    let now = Timestamp::now();
    Execution {
        id: "exec1".into(),
        namespace: "company.team".into(),
        flow_id: "hooks".into(),
        flow_revision: 1,
        state: StateHistory::new(state, now),
        task_run_list: Vec::new(),
        inputs: None,
        outputs: Some(
            json!({"answer": 42})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        labels: Vec::new(),
        variables: None,
        parent_id: None,
        original_id: None,
        trigger: None,
        metadata: ExecutionMetadata {
            attempt_number: 1,
            original_created_date: now,
        },
        schedule_date: None,
        deleted: false,
    }
}

impl ExecutionCommands for Recording {
    fn start(&self, request: StartRequest) -> BoxFuture<'_, Result<Execution, Error>> {
        if let Ok(mut starts) = self.starts.lock() {
            starts.push(request);
        }
        ready(Ok(execution(State::Created)))
    }
    fn webhook(&self, call: WebhookCall) -> BoxFuture<'_, Result<WebhookOutcome, Error>> {
        let outcome = match call.key.as_str() {
            "skip" => Ok(WebhookOutcome::Skipped),
            "wait" | "outputs" => Ok(WebhookOutcome::Started {
                execution: Box::new(execution(State::Running)),
                wait: true,
                return_outputs: call.key == "outputs",
            }),
            "key" => Ok(WebhookOutcome::Started {
                execution: Box::new(execution(State::Created)),
                wait: false,
                return_outputs: false,
            }),
            other => Err(Error::NotFound {
                what: "webhook",
                id: other.to_string(),
            }),
        };
        if let Ok(mut webhooks) = self.webhooks.lock() {
            webhooks.push(call);
        }
        ready(outcome)
    }
    fn kill(&self, _: &str) -> BoxFuture<'_, Result<(), Error>> {
        ready(Ok(()))
    }
    fn resume(&self, _: &str, _: Option<Map<String, Value>>) -> BoxFuture<'_, Result<(), Error>> {
        ready(Err(Error::Invalid("resume_with_files is expected".into())))
    }
    fn resume_with_files(
        &self,
        _: &str,
        inputs: Option<Map<String, Value>>,
        files: Vec<InputFile>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        if let Ok(mut resumes) = self.resumes.lock() {
            resumes.push((inputs, files));
        }
        ready(Ok(()))
    }
    fn follow(&self, _: &str) -> BoxFuture<'_, Result<ExecutionUpdates, Error>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        let _ = sender.try_send(execution(State::Running));
        let _ = sender.try_send(execution(State::Success));
        ready(Ok(receiver))
    }
}

fn router(port: &Arc<Recording>) -> axum::Router {
    WebserverOptions {
        flows: Arc::new(MemoryFlows::new()),
        executions: Arc::new(MemoryExecutions::new()),
        logs: Arc::new(MemoryExecutions::new()),
        commands: port.clone(),
        kv: Arc::new(peregrine_ports::kv::StorageKv::new(Arc::new(
            peregrine_ports::memory::MemoryStorage::new(),
        ))),
        storage: Arc::new(peregrine_ports::memory::MemoryStorage::new()),
        triggers: Arc::new(peregrine_ports::memory::MemoryTriggers::new()),
        registry: Arc::new(peregrine_model::core_registry()),
        expressions: None,
        metrics: None,
    }
    .build()
    .router()
}

async fn send(port: &Arc<Recording>, request: Request<Body>) -> (StatusCode, String) {
    let response = router(port).oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

const BOUNDARY: &str = "test-boundary";

/// A multipart body: `(name, file name, content)` parts.
fn multipart(parts: &[(&str, Option<&str>, &str)]) -> Body {
    let mut body = String::new();
    for (name, file_name, content) in parts {
        let disposition = match file_name {
            Some(file_name) => {
                format!(
                    "form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/plain"
                )
            }
            None => format!("form-data; name=\"{name}\""),
        };
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    Body::from(body)
}

fn form_request(uri: &str, parts: &[(&str, Option<&str>, &str)]) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(parts))
        .expect("a request")
}

fn file(input: &str, file_name: &str, text: &str) -> InputFile {
    InputFile {
        input: input.into(),
        file_name: file_name.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn file_parts_reach_the_port_as_files() {
    let port = Arc::new(Recording::default());
    let request = form_request(
        "/api/v1/executions/company.team/files",
        &[
            ("who", None, "Ada"),
            ("files", Some("file"), "kestra style"),
            ("upload", Some("C:\\data\\a.csv"), "a,b"),
        ],
    );
    let (status, body) = send(&port, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let starts = port
        .starts
        .lock()
        .map(|starts| starts.clone())
        .unwrap_or_default();
    assert_eq!(starts.len(), 1);
    assert_eq!(
        starts[0].inputs,
        *json!({"who": "Ada"}).as_object().expect("a map")
    );
    assert_eq!(
        starts[0].files,
        [
            file("file", "", "kestra style"),
            file("upload", "a.csv", "a,b")
        ]
    );

    let empty = form_request(
        "/api/v1/executions/company.team/files",
        &[("files", Some("file"), "")],
    );
    let (status, body) = send(&port, empty).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("input 'file': cannot upload an empty file"),
        "{body}"
    );

    let resume = form_request(
        "/api/v1/executions/exec1/resume",
        &[("asked", None, "yes"), ("files", Some("data"), "exec1")],
    );
    assert_eq!(send(&port, resume).await.0, StatusCode::NO_CONTENT);
    let resumes = port
        .resumes
        .lock()
        .map(|resumes| resumes.clone())
        .unwrap_or_default();
    assert_eq!(
        resumes,
        [(
            json!({"asked": "yes"}).as_object().cloned(),
            vec![file("data", "", "exec1")]
        )]
    );
}

fn webhook_request(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("x-token", "t")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request")
}

#[tokio::test]
async fn webhooks_pass_the_request_and_answer_by_outcome() {
    let port = Arc::new(Recording::default());
    let base = "/api/v1/executions/webhook/company.team/hooks";
    let (status, body) = send(
        &port,
        webhook_request(
            "POST",
            &format!("{base}/key?name=john&age=12&age=13"),
            r#"{"a":1}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (&answer["id"], &answer["state"]["current"]),
        (&json!("exec1"), &json!("CREATED"))
    );
    let calls = port
        .webhooks
        .lock()
        .map(|calls| calls.clone())
        .unwrap_or_default();
    let call = &calls[0];
    assert_eq!(
        (
            call.namespace.as_str(),
            call.flow_id.as_str(),
            call.key.as_str()
        ),
        ("company.team", "hooks", "key")
    );
    assert_eq!(call.body.as_deref(), Some(r#"{"a":1}"#));
    assert!(call.headers.contains(&("x-token".into(), "t".into())));
    assert_eq!(
        call.parameters,
        [
            ("name".to_string(), "john".to_string()),
            ("age".to_string(), "12".to_string()),
            ("age".to_string(), "13".to_string())
        ]
    );

    for method in ["GET", "PUT"] {
        let (status, _) = send(&port, webhook_request(method, &format!("{base}/key"), "")).await;
        assert_eq!(status, StatusCode::OK, "{method}");
    }
    let calls = port
        .webhooks
        .lock()
        .map(|calls| calls.clone())
        .unwrap_or_default();
    assert_eq!(calls[1].body, None);

    let (status, body) = send(&port, webhook_request("POST", &format!("{base}/skip"), "")).await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    let (status, _) = send(&port, webhook_request("POST", &format!("{base}/nope"), "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = send(&port, webhook_request("POST", &format!("{base}/wait"), "")).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["state"]["current"], "SUCCESS");
    let (_, body) = send(
        &port,
        webhook_request("POST", &format!("{base}/outputs"), ""),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).ok(),
        Some(json!({"answer": 42}))
    );
}
