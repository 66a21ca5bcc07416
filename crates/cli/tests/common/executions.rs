//! Reading one execution through the API while it runs.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Server;
use super::recovery::read_json;

/// The execution as the API answers it.
pub fn get(agent: &ureq::Agent, server: &Server, id: &str) -> Value {
    let response = agent
        .get(server.url(&format!("/api/v1/executions/{id}")))
        .call()
        .expect("read");
    read_json(response).1
}

/// Every task run of `executions`, in order.
pub fn task_runs(executions: &[Value]) -> Vec<Value> {
    executions
        .iter()
        .flat_map(|execution| {
            execution["taskRunList"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// The states of the attempts of the execution's first task run.
pub fn first_attempts(execution: &Value) -> Vec<String> {
    attempt_states(&execution["taskRunList"][0])
}

/// The states of the attempts of a task run.
pub fn attempt_states(run: &Value) -> Vec<String> {
    run["attempts"]
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

/// Reads the execution until `done` holds (at most a minute).
pub fn wait_for(
    agent: &ureq::Agent,
    server: &Server,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let execution = get(agent, server, id);
        if done(&execution) {
            return execution;
        }
        assert!(Instant::now() < deadline, "{execution}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
