//! execution.PurgeExecutions and log.PurgeLogs over the stored executions, their logs and
//! their files.

mod support;

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_plugin_api::TaskServices;
use peregrine_ports::memory::{MemoryExecutions, MemoryStorage};
use peregrine_ports::repository::{ExecutionRepository, LogQuery, LogRepository};
use peregrine_ports::storage::{Storage, StorageContext};
use peregrine_ports::store::{Commit, ExecutionStore, Transition};
use serde_json::json;

fn ago(hours: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(hours)
}

/// An execution of `namespace.flow_id` started `hours_ago`, now in `state`.
fn execution(id: &str, namespace: &str, flow_id: &str, state: &str, hours_ago: i64) -> Transition {
    let started = ago(hours_ago);
    let header = serde_json::from_value(json!({
        "id": id, "namespace": namespace, "flowId": flow_id, "flowRevision": 1,
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

fn line(execution_id: &str, namespace: &str, hours_ago: i64, level: LogLevel) -> LogEntry {
    LogEntry {
        namespace: namespace.into(),
        flow_id: "f".into(),
        execution_id: execution_id.into(),
        task_id: None,
        task_run_id: None,
        attempt_number: None,
        timestamp: ago(hours_ago),
        level,
        message: format!("{execution_id} {level:?}"),
    }
}

/// e1 ended 48 h ago, e2 ended 1 h ago, e3 still runs since 48 h, e4 in another namespace
/// ended 48 h ago; each has one log line and one file.
async fn services() -> (TaskServices, Arc<MemoryExecutions>, Arc<MemoryStorage>) {
    let store = Arc::new(MemoryExecutions::new());
    let storage = Arc::new(MemoryStorage::new());
    let executions = [
        ("e1", "company.team", "SUCCESS", 48),
        ("e2", "company.team", "FAILED", 1),
        ("e3", "company.team", "RUNNING", 48),
        ("e4", "other", "SUCCESS", 48),
    ];
    let commit = Commit {
        transitions: executions
            .iter()
            .map(|(id, namespace, state, hours)| execution(id, namespace, "f", state, *hours))
            .collect(),
        logs: executions
            .iter()
            .map(|(id, namespace, _, hours)| line(id, namespace, *hours, LogLevel::Info))
            .collect(),
        ..Commit::default()
    };
    store.commit(Arc::new(commit)).await.expect("stored");
    for (id, namespace, _, _) in executions {
        let prefix = StorageContext::new(namespace, "f", id)
            .execution_prefix()
            .expect("a prefix");
        let path = prefix.join("outputs/result.txt").expect("a path");
        storage.put(&path, b"x".to_vec()).await.expect("a file");
    }
    let services = TaskServices {
        executions: store.clone(),
        logs: store.clone(),
        storage: storage.clone(),
        ..TaskServices::in_memory()
    };
    (services, store, storage)
}

async fn files_of(storage: &MemoryStorage, namespace: &str, id: &str) -> usize {
    let prefix = StorageContext::new(namespace, "f", id)
        .execution_prefix()
        .expect("a prefix");
    storage.list(&prefix).await.map_or(0, |files| files.len())
}

#[tokio::test]
async fn ended_executions_started_before_the_end_date_go_with_their_logs_and_files() {
    let (services, store, storage) = services().await;
    let task = json!({
        "id": "purge", "type": "io.kestra.plugin.core.execution.PurgeExecutions",
        "namespace": "company", "endDate": ago(24).to_string(),
    });
    let outputs = support::run(&services, task).await.expect("purges");
    assert_eq!(outputs["executionsCount"], 1, "{outputs:?}");
    assert_eq!(outputs["logsCount"], 1);
    assert_eq!(outputs["storagesCount"], 1);
    assert_eq!(store.get("e1").await, Ok(None), "ended and old: gone");
    for kept in ["e2", "e3", "e4"] {
        assert!(
            store.get(kept).await.is_ok_and(|found| found.is_some()),
            "{kept} stays"
        );
    }
    assert_eq!(files_of(&storage, "company.team", "e1").await, 0);
    assert_eq!(
        files_of(&storage, "company.team", "e3").await,
        1,
        "running: kept"
    );
    let left = store.find(&LogQuery::default()).await.expect("logs");
    assert_eq!(left.len(), 3);
}

#[tokio::test]
async fn keeping_the_executions_still_removes_their_files() {
    let (services, store, storage) = services().await;
    let task = json!({
        "id": "purge", "type": "io.kestra.plugin.core.execution.PurgeExecutions",
        "endDate": ago(24).to_string(), "purgeExecution": false, "purgeLog": false,
    });
    let outputs = support::run(&services, task).await.expect("purges");
    assert_eq!(outputs["executionsCount"], 0, "{outputs:?}");
    assert_eq!(outputs["storagesCount"], 2, "e1 and e4");
    assert!(store.get("e1").await.is_ok_and(|found| found.is_some()));
    assert_eq!(files_of(&storage, "other", "e4").await, 0);
    assert_eq!(files_of(&storage, "company.team", "e2").await, 1);
}

#[tokio::test]
async fn log_lines_go_by_window_namespace_and_level() {
    let (services, store, _) = services().await;
    store
        .append(vec![line("e2", "company.team", 30, LogLevel::Debug)])
        .await
        .expect("a line");
    let task = json!({
        "id": "purge", "type": "io.kestra.plugin.core.log.PurgeLogs",
        "namespace": "company.team", "logLevels": ["DEBUG", "INFO"],
        "endDate": ago(24).to_string(),
    });
    let outputs = support::run(&services, task).await.expect("purges");
    assert_eq!(
        outputs["count"], 3,
        "e1, e3 and the old DEBUG line of e2: {outputs:?}"
    );
    let left: Vec<String> = store
        .find(&LogQuery::default())
        .await
        .expect("logs")
        .into_iter()
        .map(|line| line.execution_id)
        .collect();
    assert_eq!(left, ["e2", "e4"]);
    let missing_end = json!({"id": "purge", "type": "io.kestra.plugin.core.log.PurgeLogs"});
    assert!(support::run(&services, missing_end).await.is_err());
}
