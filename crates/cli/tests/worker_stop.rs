//! A worker of its own asked to stop (SIGTERM) on PostgreSQL: within its grace period it lets the
//! running task finish and exits; past it, it hands the task back and exits, and another worker
//! runs it at once as a new attempt (the one cut short recorded as RESUBMITTED).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::executions::{first_attempts as attempts, wait_for};
use common::{Server, agent, recovery, services};
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

fn variables<'a>(shared: &'a services::Shared, grace: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut variables = shared.variables("3s", "500ms");
    variables.push(("KESTRA_SERVER_TERMINATION_GRACE_PERIOD", grace));
    variables
}

#[test]
fn a_stopping_worker_finishes_its_task_within_the_grace_period() {
    let name = format!("worker_stop_finish_{}", std::process::id());
    let shared = services::Shared::database("postgres", &name);
    let variables = variables(&shared, "20s");
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
    services::drop_databases("postgres", &name);
}

#[test]
fn a_stopping_worker_hands_back_what_outlasts_the_grace_period() {
    let name = format!("worker_stop_hand_back_{}", std::process::id());
    let shared = services::Shared::database("postgres", &name);
    let variables = variables(&shared, "300ms");
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
    services::drop_databases("postgres", &name);
}
