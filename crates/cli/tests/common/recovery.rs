//! Executions with retries, subflows and loops in flight when something fails (the server is
//! killed, the database restarts), and what must hold once they have all ended: none lost, no
//! task run reported twice, each parent started exactly one child.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Server;

const CHILD: &str = "id: child
namespace: crash.test
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.4S
  - id: answer
    type: io.kestra.plugin.core.debug.Return
    format: child of {{ trigger.executionId }}
";

const PARENT: &str = "id: parent
namespace: crash.test
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: started
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    condition: '{{ taskrun.attemptsCount < 2 }}'
    allowFailure: true
    retry:
      type: constant
      interval: PT0.3S
      maxAttempt: 3
  - id: sub
    type: io.kestra.plugin.core.flow.Subflow
    namespace: crash.test
    flowId: child
    wait: true
    transmitFailed: true
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3]
    concurrencyLimit: 0
    tasks:
      - id: pause
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.2S
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: '{{ outputs.sub.executionId }}'
";

pub fn read_json(response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().expect("a text body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn post_flow(agent: &ureq::Agent, server: &Server, source: &str) {
    let response = agent
        .post(server.url("/api/v1/flows"))
        .header("Content-Type", "application/x-yaml")
        .send(source)
        .expect("flow posted");
    let (status, body) = read_json(response);
    assert_eq!(status, 200, "{body}");
}

/// Every execution of a flow (one page large enough for all).
pub fn executions(agent: &ureq::Agent, server: &Server, flow_id: &str) -> Vec<Value> {
    let url = server.url(&format!(
        "/api/v1/executions/search?namespace=crash.test&flowId={flow_id}&size=1000"
    ));
    let (status, body) = read_json(agent.get(url).call().expect("search"));
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().cloned().unwrap_or_default()
}

pub fn state(execution: &Value) -> &str {
    execution["state"]["current"].as_str().unwrap_or_default()
}

pub fn terminal(execution: &Value) -> bool {
    matches!(
        state(execution),
        "SUCCESS" | "WARNING" | "FAILED" | "KILLED"
    )
}

/// Posts the flows and starts `count` parent executions.
pub fn start_parents(agent: &ureq::Agent, server: &Server, count: usize) {
    post_flow(agent, server, CHILD);
    post_flow(agent, server, PARENT);
    let boundary = "crash-test";
    let body = format!("--{boundary}--\r\n");
    for _ in 0..count {
        let response = agent
            .post(server.url("/api/v1/executions/crash.test/parent"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body)
            .expect("execution started");
        let (status, created) = read_json(response);
        assert_eq!(status, 200, "{created}");
    }
}

/// How many parents have not ended yet.
pub fn running_parents(agent: &ureq::Agent, server: &Server) -> usize {
    executions(agent, server, "parent")
        .iter()
        .filter(|execution| !terminal(execution))
        .count()
}

/// Up to three executions that have not ended, with their task runs and attempts.
fn stuck(parents: &[Value], children: &[Value]) -> String {
    let stuck: Vec<String> = parents
        .iter()
        .chain(children)
        .filter(|execution| !terminal(execution))
        .take(3)
        .map(|execution| {
            let runs = execution["taskRunList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let runs: Vec<String> = runs
                .iter()
                .map(|run| {
                    format!(
                        "{} {} {}",
                        run["taskId"], run["state"]["current"], run["attempts"]
                    )
                })
                .collect();
            format!(
                "{} {}: {}",
                execution["id"],
                state(execution),
                runs.join("; ")
            )
        })
        .collect();
    stuck.join("\n")
}

/// Waits until `count` parents and their children have ended, then checks every one.
pub fn assert_all_end_once(agent: &ureq::Agent, server: &Server, count: usize, within: Duration) {
    let deadline = Instant::now() + within;
    let (parents, children) = loop {
        let parents = executions(agent, server, "parent");
        let children = executions(agent, server, "child");
        if parents.iter().chain(&children).all(terminal) && parents.len() == count {
            break (parents, children);
        }
        assert!(
            Instant::now() < deadline,
            "executions did not all end in time ({} parents seen); for example:\n{}",
            parents.len(),
            stuck(&parents, &children)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(parents.len(), count, "no execution is lost");
    assert_eq!(
        children.len(),
        count,
        "each parent started exactly one child"
    );
    for parent in &parents {
        assert!(matches!(state(parent), "SUCCESS" | "WARNING"), "{parent}");
        let runs = parent["taskRunList"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // first, flaky, sub, each, 3 x pause, last.
        assert_eq!(runs.len(), 8, "{parent}");
        let mut keys = HashSet::new();
        for run in &runs {
            let key = (
                run["taskId"].clone(),
                run["parentTaskRunId"].clone(),
                run["value"].clone(),
            );
            assert!(keys.insert(key), "a task run reported twice: {run}");
            // An attempt lost with a dead worker (RESUBMITTED) is the one extra run allowed;
            // the tests with a dead worker check there is at most one per task run.
            let attempts = run["attempts"].as_array().map_or(0, |attempts| {
                attempts
                    .iter()
                    .filter(|attempt| attempt["state"]["current"] != "RESUBMITTED")
                    .count()
            });
            assert!(attempts <= 3, "{run}");
        }
    }
    let child_ids: HashSet<&str> = children
        .iter()
        .filter_map(|child| child["id"].as_str())
        .collect();
    for parent in &parents {
        let last = parent["taskRunList"]
            .as_array()
            .and_then(|runs| runs.iter().find(|run| run["taskId"] == "last"))
            .and_then(|run| run["outputs"]["value"].as_str())
            .unwrap_or_default();
        assert!(
            child_ids.contains(last),
            "the child of {} is {last}",
            parent["id"]
        );
    }
    for child in &children {
        assert_eq!(state(child), "SUCCESS", "{child}");
    }
}
