//! execution.Count over the stored executions: flows, namespaces, states, dates and the
//! expression on each count.

mod support;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use peregrine_plugin_api::{TaskError, TaskServices};
use peregrine_ports::memory::MemoryExecutions;
use peregrine_ports::store::{Commit, ExecutionStore, Transition};
use serde_json::{Value, json};

/// Stores an execution of `namespace.flow_id` that started `hours_ago` and is now in `state`.
fn execution(id: &str, namespace: &str, flow_id: &str, state: &str, hours_ago: i64) -> Transition {
    let started = Timestamp::now() - SignedDuration::from_hours(hours_ago);
    let header = serde_json::from_value(json!({
        "id": id,
        "namespace": namespace,
        "flowId": flow_id,
        "flowRevision": 1,
        "state": {"current": state, "histories": [
            {"state": "CREATED", "date": started.to_string()},
            {"state": state, "date": (started + SignedDuration::from_secs(1)).to_string()},
        ]},
        "metadata": {"attemptNumber": 1, "originalCreatedDate": started.to_string()},
    }))
    .expect("an execution");
    Transition {
        execution_id: id.to_string(),
        header: Some(header),
        ..Transition::default()
    }
}

async fn services() -> TaskServices {
    let store = Arc::new(MemoryExecutions::new());
    let commit = Commit {
        transitions: vec![
            execution("e1", "company.team", "a", "SUCCESS", 1),
            execution("e2", "company.team", "a", "FAILED", 2),
            execution("e3", "company.team", "b", "SUCCESS", 3),
            execution("e4", "company.team", "a", "SUCCESS", 72),
            execution("e5", "company.other", "c", "SUCCESS", 1),
            execution("e6", "company.team.sub", "d", "SUCCESS", 1),
        ],
        ..Commit::default()
    };
    store.commit(Arc::new(commit)).await.expect("stored");
    TaskServices {
        executions: store,
        ..TaskServices::in_memory()
    }
}

fn yesterday() -> String {
    (Timestamp::now() - SignedDuration::from_hours(24)).to_string()
}

fn flows() -> Value {
    json!([
        {"namespace": "company.team", "flowId": "a"},
        {"namespace": "company.team", "flowId": "b"},
        {"namespace": "company.team", "flowId": "z"},
    ])
}

#[tokio::test]
async fn counts_each_flow_and_keeps_those_matching_the_expression() {
    let services = services().await;
    let task = json!({
        "id": "count", "type": "execution.Count", "flows": flows(),
        "startDate": yesterday(), "expression": "{{ count >= 1 }}",
    });
    let outputs = support::run(&services, task).await.expect("counts");
    assert_eq!(
        outputs["results"],
        json!([
            {"namespace": "company.team", "flowId": "a", "count": 2},
            {"namespace": "company.team", "flowId": "b", "count": 1},
        ])
    );
    assert_eq!(outputs["total"], json!(3));

    let silent = json!({
        "id": "count", "type": "execution.Count", "flows": flows(),
        "startDate": yesterday(), "expression": "{{ count == 0 }}",
    });
    let outputs = support::run(&services, silent).await.expect("counts");
    assert_eq!(
        outputs["results"],
        json!([{"namespace": "company.team", "flowId": "z", "count": 0}])
    );
    assert_eq!(outputs["total"], json!(0));
}

#[tokio::test]
async fn states_dates_and_namespaces_filter() {
    let services = services().await;
    let successes = json!({
        "id": "count", "type": "execution.Count", "flows": flows(), "states": ["SUCCESS"],
        "startDate": yesterday(), "expression": "{{ count > 0 }}",
    });
    let outputs = support::run(&services, successes).await.expect("counts");
    assert_eq!(outputs["total"], json!(2));

    let week = (Timestamp::now() - SignedDuration::from_hours(24 * 7)).to_string();
    let ninety_minutes = (Timestamp::now() - SignedDuration::from_mins(90)).to_string();
    let window = json!({
        "id": "count", "type": "execution.Count", "flows": flows(),
        "startDate": week, "endDate": ninety_minutes, "expression": "{{ count > 0 }}",
    });
    let outputs = support::run(&services, window).await.expect("counts");
    assert_eq!(
        outputs["results"],
        json!([
            {"namespace": "company.team", "flowId": "a", "count": 2},
            {"namespace": "company.team", "flowId": "b", "count": 1},
        ])
    );

    let namespace = json!({
        "id": "count", "type": "execution.Count", "namespaces": ["company.team"],
        "startDate": "2000-01-01T00:00:00+01:00[Europe/Paris]", "expression": "{{ true }}",
    });
    let outputs = support::run(&services, namespace).await.expect("counts");
    assert_eq!(
        outputs["results"],
        json!([{"namespace": "company.team", "count": 4}])
    );
}

#[tokio::test]
async fn flows_or_namespaces_and_a_valid_date_are_required() {
    let services = services().await;
    let neither = json!({
        "id": "count", "type": "execution.Count",
        "startDate": yesterday(), "expression": "{{ true }}",
    });
    assert!(matches!(
        support::run(&services, neither).await,
        Err(TaskError::Property { .. })
    ));
    let bad_date = json!({
        "id": "count", "type": "execution.Count", "flows": flows(),
        "startDate": "yesterday", "expression": "{{ true }}",
    });
    assert!(matches!(
        support::run(&services, bad_date).await,
        Err(TaskError::Property { .. })
    ));
}
