//! A worker of its own that cannot renew its claims stops itself: its PostgreSQL server (a
//! private one) stops while the worker runs a task; the worker exits with code 3 once the
//! liveness timeout has passed, since another worker may now take its task. The executor rides
//! the outage out; when the database is back, a new worker runs the task again, the lost attempt
//! recorded as RESUBMITTED.

mod common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::executions::{first_attempts as attempts, wait_for};
use common::{Server, agent, recovery, services};

const FLOW: &str = "id: nap
namespace: liveness.test
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT3S
";

#[test]
fn a_worker_that_cannot_renew_its_claims_stops_itself() {
    let cluster = Cluster::start("postgres");
    let shared = services::Shared::at("postgres", cluster.script(&["database", "liveness"]));
    let variables = shared.variables("2s", "300ms");
    let agent = agent();
    let server = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let mut worker = Server::worker(&variables);
    recovery::post_flow(&agent, &server, FLOW);
    let response = agent
        .post(server.url("/api/v1/executions/liveness.test/nap"))
        .header("Content-Type", "multipart/form-data; boundary=x")
        .send("--x--\r\n")
        .expect("started");
    let id = recovery::read_json(response).1["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    wait_for(&agent, &server, &id, |execution| {
        attempts(execution) == ["RUNNING"]
    });

    let stopped = Instant::now();
    cluster.script(&["stop"]);
    let exit = worker.child.wait().expect("the worker exits");
    let after = stopped.elapsed();
    assert_eq!(exit.code(), Some(3), "{exit}");
    assert!(
        after >= Duration::from_millis(1500) && after < Duration::from_secs(10),
        "it stopped once the liveness timeout had passed ({after:?})"
    );

    cluster.script(&["start"]);
    let next = Server::worker(&variables);
    let ended = wait_for(&agent, &server, &id, recovery::terminal);
    assert_eq!(recovery::state(&ended), "SUCCESS", "{ended}");
    assert_eq!(attempts(&ended), ["RESUBMITTED", "SUCCESS"], "{ended}");
    next.kill();
    server.kill();
}
