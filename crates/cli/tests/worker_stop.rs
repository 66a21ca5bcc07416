//! A worker of its own asked to stop (SIGTERM) on PostgreSQL: within its grace period it lets the
//! running task finish and exits; past it, it hands the task back and exits, and another worker
//! runs it at once as a new attempt (the one cut short recorded as RESUBMITTED).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, agent, recovery};
use serde_json::Value;

const FLOW: &str = "id: nap
namespace: stop.test
inputs:
  - id: duration
    type: STRING
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: '{{ inputs.duration }}'
";

fn service_script() -> Command {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new(root.join("scripts/services/postgres"))
}

fn database(name: &str) -> String {
    let output = service_script()
        .args(["database", name])
        .output()
        .expect("the service script runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn start(agent: &ureq::Agent, server: &Server, duration: &str) -> String {
    let boundary = "stop-test";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"duration\"\r\n\r\n{duration}\r\n--{boundary}--\r\n"
    );
    let response = agent
        .post(server.url("/api/v1/executions/stop.test/nap"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body)
        .expect("execution started");
    let (status, created) = recovery::read_json(response);
    assert_eq!(status, 200, "{created}");
    created["id"].as_str().unwrap_or_default().to_string()
}

fn execution(agent: &ureq::Agent, server: &Server, id: &str) -> Value {
    let response = agent
        .get(server.url(&format!("/api/v1/executions/{id}")))
        .call()
        .expect("read");
    recovery::read_json(response).1
}

/// The attempts' states of the execution's only task run, once it has one that runs.
fn wait_for(
    agent: &ureq::Agent,
    server: &Server,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let execution = execution(agent, server, id);
        if done(&execution) {
            return execution;
        }
        assert!(Instant::now() < deadline, "{execution}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn attempts(execution: &Value) -> Vec<String> {
    execution["taskRunList"][0]["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|attempt| {
            attempt["state"]["current"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn running(execution: &Value) -> bool {
    attempts(execution)
        .last()
        .is_some_and(|state| state == "RUNNING")
}

fn terminate(worker: &mut Server) -> Duration {
    let asked = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &worker.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = worker.child.wait().expect("the worker exits");
    assert!(exit.success(), "a graceful stop exits with 0: {exit}");
    asked.elapsed()
}

fn variables<'a>(url: &'a str, storage: &'a str, grace: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("KESTRA_REPOSITORY_TYPE", "postgres"),
        ("KESTRA_QUEUE_TYPE", "postgres"),
        ("DATASOURCES_POSTGRES_URL", url),
        ("KESTRA_STORAGE_LOCAL_BASE_PATH", storage),
        ("KESTRA_SERVER_LIVENESS_TIMEOUT", "3s"),
        ("KESTRA_SERVER_LIVENESS_HEARTBEAT_INTERVAL", "500ms"),
        ("KESTRA_SERVER_TERMINATION_GRACE_PERIOD", grace),
    ]
}

#[test]
fn a_stopping_worker_finishes_its_task_within_the_grace_period() {
    let name = format!("worker_stop_finish_{}", std::process::id());
    let url = database(&name);
    let storage = tempfile::tempdir().expect("a storage folder");
    let storage = storage.path().to_string_lossy().into_owned();
    let variables = variables(&url, &storage, "20s");
    let agent = agent();
    let server = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let mut worker = Server::worker(&variables);
    recovery::post_flow(&agent, &server, FLOW);
    let id = start(&agent, &server, "PT4S");
    wait_for(&agent, &server, &id, running);
    let stopping = terminate(&mut worker);
    assert!(
        stopping >= Duration::from_millis(500),
        "it waited for the task ({stopping:?})"
    );
    let ended = wait_for(&agent, &server, &id, recovery::terminal);
    assert_eq!(recovery::state(&ended), "SUCCESS", "{ended}");
    assert_eq!(attempts(&ended), ["SUCCESS"], "one attempt: {ended}");
    server.kill();
    let _ = service_script().args(["drop", &name]).output();
}

#[test]
fn a_stopping_worker_hands_back_what_outlasts_the_grace_period() {
    let name = format!("worker_stop_hand_back_{}", std::process::id());
    let url = database(&name);
    let storage = tempfile::tempdir().expect("a storage folder");
    let storage = storage.path().to_string_lossy().into_owned();
    let variables = variables(&url, &storage, "300ms");
    let agent = agent();
    let server = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let mut worker = Server::worker(&variables);
    recovery::post_flow(&agent, &server, FLOW);
    let id = start(&agent, &server, "PT30S");
    wait_for(&agent, &server, &id, running);
    let stopping = terminate(&mut worker);
    assert!(
        stopping < Duration::from_secs(3),
        "it did not wait for the task ({stopping:?})"
    );
    // Handed back: a new worker takes it at once, without waiting for the lease to expire.
    let next = Server::worker(&variables);
    let taken = Instant::now();
    let resumed = wait_for(&agent, &server, &id, |execution| {
        attempts(execution) == ["RESUBMITTED", "RUNNING"]
    });
    assert!(
        taken.elapsed() < Duration::from_secs(2),
        "taken at once: {resumed}"
    );
    next.kill();
    server.kill();
    let _ = service_script().args(["drop", &name]).output();
}
