//! `peregrine server local` end to end: the real binary on a free port, driven over HTTP the
//! way Kestra's UI and CLI drive Kestra's API.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const FLOW: &str = "id: hello
namespace: company.team
inputs:
  - id: who
    type: STRING
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: Hello {{ inputs.who }} from {{ flow.id }}
";

/// The server process, stopped with SIGTERM (then killed) when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_peregrine"))
            .args(["server", "local", "--memory", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the peregrine binary starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

fn json(response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().expect("a text body");
    let value = serde_json::from_str(&text);
    assert!(value.is_ok(), "not JSON: {text}");
    (status, value.unwrap_or_default())
}

/// A multipart/form-data body with one text part per input.
fn form(fields: &[(&str, &str)]) -> (String, String) {
    let parts: Vec<(&str, Option<&str>, &str)> = fields
        .iter()
        .map(|(name, value)| (*name, None, *value))
        .collect();
    form_with_files(&parts)
}

/// A multipart/form-data body: `(name, file name, content)` parts, file parts when named.
fn form_with_files(parts: &[(&str, Option<&str>, &str)]) -> (String, String) {
    let boundary = "peregrine-e2e-boundary";
    let mut body = String::new();
    for (name, file_name, value) in parts {
        let file = file_name
            .map(|file_name| format!("; filename=\"{file_name}\"\r\nContent-Type: text/plain"))
            .unwrap_or_default();
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Reads `data:` payloads of a server-sent event stream until it closes.
fn events(response: ureq::http::Response<ureq::Body>) -> Vec<(String, Value)> {
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let reader = BufReader::new(response.into_body().into_reader());
    let mut events = Vec::new();
    let mut id = String::new();
    for line in reader.lines() {
        let line = line.expect("a line of the stream");
        if let Some(value) = line.strip_prefix("id: ") {
            id = value.to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            let value = serde_json::from_str(data).expect("JSON data");
            events.push((std::mem::take(&mut id), value));
        }
    }
    events
}

#[test]
fn a_flow_runs_through_the_api() {
    let started = Instant::now();
    let mut server = Server::start();
    let agent = agent();

    // The ready line, then /health.
    let mut stdout = BufReader::new(server.child.stdout.take().expect("stdout"));
    let mut ready = String::new();
    stdout.read_line(&mut ready).expect("the ready line");
    assert!(
        ready.contains(&server.base) && ready.contains("memory"),
        "{ready}"
    );
    let health = loop {
        match agent.get(server.url("/health")).call() {
            Ok(response) => break json(response),
            Err(error) => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "/health: {error}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    assert_eq!(health, (200, serde_json::json!({"status": "UP"})));

    // A flow with an input.
    let (status, flow) = json(
        agent
            .post(server.url("/api/v1/flows"))
            .header("Content-Type", "application/x-yaml")
            .send(FLOW)
            .expect("create"),
    );
    assert_eq!(status, 200, "{flow}");
    assert_eq!(
        (&flow["id"], &flow["revision"]),
        (&"hello".into(), &1.into())
    );
    assert_eq!(flow["source"], FLOW);
    assert_eq!(flow["tasks"][0]["id"], "greet");

    // An execution with that input, as a multipart form.
    let (content_type, body) = form(&[("who", "Ada")]);
    let (status, execution) = json(
        agent
            .post(server.url("/api/v1/executions/company.team/hello?labels=team:data"))
            .header("Content-Type", &content_type)
            .send(&body)
            .expect("start"),
    );
    assert_eq!(status, 200, "{execution}");
    let id = execution["id"]
        .as_str()
        .expect("an execution id")
        .to_string();
    assert_eq!(execution["inputs"]["who"], "Ada");

    // Followed over SSE until it ends.
    let followed = events(
        agent
            .get(server.url(&format!("/api/v1/executions/{id}/follow")))
            .call()
            .expect("follow"),
    );
    let (last_id, last) = followed.last().expect("events");
    assert_eq!(last_id, "end");
    assert_eq!(last["state"]["current"], "SUCCESS", "{followed:?}");
    assert!(
        followed
            .iter()
            .all(|(_, execution)| execution["id"] == id.as_str())
    );

    // Its logs hold the rendered message.
    let (status, logs) = json(
        agent
            .get(server.url(&format!("/api/v1/logs/{id}?minLevel=INFO")))
            .call()
            .expect("logs"),
    );
    assert_eq!(status, 200);
    let messages: Vec<&str> = logs
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|line| line["message"].as_str())
        .collect();
    assert!(messages.contains(&"Hello Ada from hello"), "{messages:?}");
    let mut text = String::new();
    agent
        .get(server.url(&format!("/api/v1/logs/{id}/download")))
        .call()
        .expect("download")
        .into_body()
        .into_reader()
        .read_to_string(&mut text)
        .expect("text");
    assert!(text.contains(" INFO Hello Ada from hello\n"), "{text}");

    // An invalid flow is a 422 naming the line of each problem.
    let invalid = FLOW.replace("core.log.Log", "core.log.Nope");
    let (status, error) = json(
        agent
            .post(server.url("/api/v1/flows"))
            .header("Content-Type", "application/x-yaml")
            .send(&invalid)
            .expect("create"),
    );
    assert_eq!(status, 422, "{error}");
    let first = error["errors"][0].as_str().expect("errors");
    assert!(first.starts_with("8:11: tasks[0].type: "), "{first}");

    let mut metrics = String::new();
    agent
        .get(server.url("/metrics"))
        .call()
        .expect("metrics")
        .into_body()
        .into_reader()
        .read_to_string(&mut metrics)
        .expect("text");
    assert!(
        metrics.contains("peregrine_executor_executions_ended_total{state=\"SUCCESS\"} 1"),
        "{metrics}"
    );

    let status = server.stop();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

fn yaml(agent: &ureq::Agent, method: &str, url: &str, body: &str) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Content-Type", "application/x-yaml")
        .body(body.to_string())
        .expect("a request");
    json(agent.run(request).expect("an answer"))
}

fn call(agent: &ureq::Agent, method: &str, url: &str) -> u16 {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .body(())
        .expect("a request");
    agent.run(request).expect("an answer").status().as_u16()
}

#[test]
fn flows_have_revisions_and_namespaces_update_in_bulk() {
    let server = Server::start();
    let agent = agent();
    let started = Instant::now();
    while agent.get(server.url("/health")).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "no /health");
        std::thread::sleep(Duration::from_millis(10));
    }
    let flows = server.url("/api/v1/flows");
    let hello = server.url("/api/v1/flows/company.team/hello");
    assert_eq!(yaml(&agent, "POST", &flows, FLOW).0, 200);
    let (status, error) = yaml(&agent, "POST", &flows, FLOW);
    assert_eq!(
        status, 422,
        "an existing flow is not created again: {error}"
    );

    // PUT: a new revision only when the source changed; the path must name the flow.
    assert_eq!(yaml(&agent, "PUT", &hello, FLOW).1["revision"], 1);
    let changed = FLOW.replace("Hello", "Hi");
    assert_eq!(yaml(&agent, "PUT", &hello, &changed).1["revision"], 2);
    let other = server.url("/api/v1/flows/company.team/other");
    assert_eq!(yaml(&agent, "PUT", &other, FLOW).0, 404);
    let (_, latest) = json(
        agent
            .get(format!("{hello}?source=true"))
            .call()
            .expect("get"),
    );
    assert_eq!(
        (&latest["revision"], &latest["source"]),
        (&2.into(), &changed.as_str().into())
    );
    let (_, first) = json(
        agent
            .get(format!("{hello}?revision=1"))
            .call()
            .expect("get"),
    );
    assert_eq!(first["revision"], 1);
    assert!(first.get("source").is_none());
    let (_, revisions) = json(agent.get(format!("{hello}/revisions")).call().expect("get"));
    assert_eq!(revisions.as_array().map(Vec::len), Some(2));

    // Bulk: every flow of the body saved, the namespace's other flows deleted.
    let bulk = "id: a\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: a\n---\nid: b\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: b\n";
    let (status, saved) = yaml(
        &agent,
        "POST",
        &server.url("/api/v1/flows/company.team?delete=true"),
        bulk,
    );
    assert_eq!(status, 200, "{saved}");
    let ids: Vec<(&str, bool)> = saved
        .as_array()
        .expect("a list")
        .iter()
        .map(|flow| {
            (
                flow["id"].as_str().unwrap_or_default(),
                flow["deleted"] == true,
            )
        })
        .collect();
    assert_eq!(ids, [("hello", true), ("a", false), ("b", false)]);
    assert_eq!(
        saved[2]["source"],
        "id: b\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: b"
    );
    let (_, listed) = json(
        agent
            .get(server.url("/api/v1/flows/company.team"))
            .call()
            .expect("list"),
    );
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let (_, found) = json(
        agent
            .get(server.url("/api/v1/flows/search?q=message:%20b&size=1"))
            .call()
            .expect("search"),
    );
    assert_eq!(
        (&found["total"], &found["results"][0]["id"]),
        (&1.into(), &"b".into())
    );
    let wrong = bulk.replace("namespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: b", "namespace: elsewhere\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: b");
    assert_eq!(
        yaml(
            &agent,
            "POST",
            &server.url("/api/v1/flows/company.team"),
            &wrong
        )
        .0,
        422
    );

    // DELETE hides the flow.
    assert_eq!(
        call(
            &agent,
            "DELETE",
            &server.url("/api/v1/flows/company.team/a")
        ),
        204
    );
    assert_eq!(
        call(
            &agent,
            "DELETE",
            &server.url("/api/v1/flows/company.team/a")
        ),
        404
    );
    assert_eq!(
        call(&agent, "GET", &server.url("/api/v1/flows/company.team/a")),
        404
    );

    // A paused execution is resumed; one paused again is killed; an ended one deleted.
    let paused = "id: paused\nnamespace: company.team\ntasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n";
    assert_eq!(yaml(&agent, "POST", &flows, paused).0, 200);
    let start = || {
        let (status, execution) = json(
            agent
                .post(server.url("/api/v1/executions/company.team/paused"))
                .send_empty()
                .expect("start"),
        );
        assert_eq!(status, 200, "{execution}");
        execution["id"].as_str().unwrap_or_default().to_string()
    };
    let wait_paused = |id: &str| {
        let started = Instant::now();
        loop {
            let (_, execution) = json(
                agent
                    .get(server.url(&format!("/api/v1/executions/{id}")))
                    .call()
                    .expect("get"),
            );
            if execution["state"]["current"] == "PAUSED" {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{execution}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let resumed = start();
    wait_paused(&resumed);
    assert_eq!(
        call(
            &agent,
            "POST",
            &server.url(&format!("/api/v1/executions/{resumed}/resume"))
        ),
        204
    );
    let killed = start();
    wait_paused(&killed);
    assert_eq!(
        call(
            &agent,
            "DELETE",
            &server.url(&format!("/api/v1/executions/{killed}"))
        ),
        409
    );
    assert_eq!(
        call(
            &agent,
            "DELETE",
            &server.url(&format!("/api/v1/executions/{killed}/kill"))
        ),
        202
    );
    for (id, state) in [(&resumed, "SUCCESS"), (&killed, "KILLED")] {
        let followed = events(
            agent
                .get(server.url(&format!("/api/v1/executions/{id}/follow")))
                .call()
                .expect("follow"),
        );
        assert_eq!(
            followed
                .last()
                .map(|(_, execution)| &execution["state"]["current"]),
            Some(&state.into())
        );
    }
    let (_, page) = json(
        agent
            .get(server.url("/api/v1/executions/search?flowId=paused&state=KILLED"))
            .call()
            .expect("search"),
    );
    assert_eq!(page["total"], 1);
    assert_eq!(
        call(
            &agent,
            "DELETE",
            &server.url(&format!("/api/v1/executions/{killed}"))
        ),
        204
    );
    assert_eq!(
        call(
            &agent,
            "GET",
            &server.url(&format!("/api/v1/executions/{killed}"))
        ),
        404
    );
    assert!(server.stop().success());
}

/// Waits for `/health` to answer.
fn wait_healthy(server: &Server, agent: &ureq::Agent) {
    let started = Instant::now();
    while agent.get(server.url("/health")).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "no /health");
        std::thread::sleep(Duration::from_millis(10));
    }
}

const UPLOAD: &str = "id: upload
namespace: company.team
inputs:
  - id: file
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: \"read: {{ read(inputs.file) }}\"
";

#[test]
fn a_file_part_is_stored_for_its_file_input_and_read_by_a_task() {
    let server = Server::start();
    let agent = agent();
    wait_healthy(&server, &agent);
    assert_eq!(
        yaml(&agent, "POST", &server.url("/api/v1/flows"), UPLOAD).0,
        200
    );

    let (content_type, body) = form_with_files(&[("file", Some("data.txt"), "uploaded text")]);
    let (status, execution) = json(
        agent
            .post(server.url("/api/v1/executions/company.team/upload?wait=true"))
            .header("Content-Type", &content_type)
            .send(&body)
            .expect("start"),
    );
    assert_eq!(status, 200, "{execution}");
    let id = execution["id"].as_str().unwrap_or_default();
    assert_eq!(
        execution["inputs"]["file"],
        format!("kestra:///company/team/upload/executions/{id}/inputs/file/data.txt")
    );
    assert_eq!(execution["state"]["current"], "SUCCESS", "{execution}");
    let (_, logs) = json(
        agent
            .get(server.url(&format!("/api/v1/logs/{id}")))
            .call()
            .expect("logs"),
    );
    let read = logs
        .as_array()
        .into_iter()
        .flatten()
        .any(|line| line["message"] == "read: uploaded text");
    assert!(read, "{logs}");

    // Text for a FILE input must be a kestra:/// or nsfile:// URI.
    let (content_type, body) = form(&[("file", "/etc/passwd")]);
    let (status, error) = json(
        agent
            .post(server.url("/api/v1/executions/company.team/upload"))
            .header("Content-Type", &content_type)
            .send(&body)
            .expect("start"),
    );
    assert_eq!(status, 422, "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|message| message.contains("Invalid input for `file`")),
        "{error}"
    );
    assert!(server.stop().success());
}

const HOOK: &str = "id: hook
namespace: company.team
labels:
  team: data
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: \"body a: {{ trigger.body.a ?? 'none' }}\"
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: \"{{ flow.id }}-key\"
  - id: waiting
    type: io.kestra.plugin.core.trigger.Webhook
    key: wait-key
    wait: true
";

#[test]
fn a_webhook_call_starts_an_execution_of_its_flow() {
    let server = Server::start();
    let agent = agent();
    wait_healthy(&server, &agent);
    assert_eq!(
        yaml(&agent, "POST", &server.url("/api/v1/flows"), HOOK).0,
        200
    );
    let base = server.url("/api/v1/executions/webhook/company.team/hook");

    let (status, execution) = json(
        agent
            .post(format!("{base}/hook-key?name=john&age=12&age=13"))
            .header("Content-Type", "application/json")
            .send(r#"{"a": 1, "b": true}"#)
            .expect("webhook"),
    );
    assert_eq!(status, 200, "{execution}");
    let variables = &execution["trigger"]["variables"];
    assert_eq!(variables["body"], serde_json::json!({"a": 1, "b": true}));
    assert_eq!(
        variables["parameters"]["age"],
        serde_json::json!(["12", "13"])
    );
    assert_eq!(
        variables["headers"]["content-type"],
        serde_json::json!(["application/json"])
    );
    assert_eq!(
        execution["labels"][0],
        serde_json::json!({"key": "team", "value": "data"})
    );

    let (status, ended) = json(
        agent
            .get(format!("{base}/wait-key"))
            .call()
            .expect("webhook"),
    );
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"]["current"], "SUCCESS", "{ended}");
    assert_eq!(ended["trigger"]["variables"]["body"], Value::Null);

    assert_eq!(call(&agent, "PUT", &format!("{base}/wrong-key")), 404);
    assert_eq!(
        call(
            &agent,
            "POST",
            &server.url("/api/v1/executions/webhook/company.team/nope/hook-key")
        ),
        404
    );
    assert!(server.stop().success());
}
