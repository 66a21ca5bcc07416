//! The in-memory ports over the runtime, at their contracts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use peregrine_model::execution::Execution;
use peregrine_model::log::LogLevel;
use peregrine_model::state::State;
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionQuery, ExecutionRepository, FlowQuery, FlowRepository,
    LogQuery, StartRequest,
};
use serde_json::{Map, Value, json};

use super::*;

const HELLO: &str = "id: hello
namespace: company.team
inputs:
  - id: who
    type: STRING
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: Hello {{ inputs.who }}
";

const PAUSED: &str = "id: paused
namespace: company.team
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: resumed
";

fn services() -> LocalServices {
    LocalServices::start(Arc::new(crate::catalogue()))
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn start(flow_id: &str, inputs: Value) -> StartRequest {
    StartRequest {
        namespace: "company.team".into(),
        flow_id: flow_id.into(),
        inputs: match inputs {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        ..StartRequest::default()
    }
}

/// Every version `follow` yields, until its channel closes.
async fn followed(services: &LocalServices, id: &str) -> Vec<Execution> {
    let mut updates = services.commands.follow(id).await.expect("known execution");
    let mut versions = Vec::new();
    let wait = async {
        while let Some(execution) = updates.recv().await {
            versions.push(execution);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the execution ends");
    versions
}

#[tokio::test]
async fn flows_get_a_revision_per_changed_source() {
    let services = services();
    let flows = &services.flows;
    let first = flows
        .save("company.team", "hello", HELLO.into(), now())
        .await;
    assert_eq!(first.map(|record| record.revision), Ok(1));
    let same = flows
        .save("company.team", "hello", HELLO.into(), now())
        .await;
    assert_eq!(same.map(|record| record.revision), Ok(1));
    let changed = HELLO.replace("Hello", "Hi");
    let second = flows.save("company.team", "hello", changed, now()).await;
    assert_eq!(second.map(|record| record.revision), Ok(2));
    let revisions = flows
        .revisions("company.team", "hello")
        .await
        .expect("revisions");
    assert_eq!(
        revisions
            .iter()
            .map(|record| record.revision)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let old = flows
        .get("company.team", "hello", Some(1))
        .await
        .expect("get");
    assert_eq!(old.map(|record| record.source), Some(HELLO.to_string()));

    let query = |namespace: &str, text: Option<&str>| FlowQuery {
        namespace: Some(namespace.into()),
        text: text.map(str::to_string),
    };
    assert_eq!(
        flows
            .list(&query("company", None))
            .await
            .map(|found| found.len()),
        Ok(1)
    );
    assert_eq!(
        flows
            .list(&query("comp", None))
            .await
            .map(|found| found.len()),
        Ok(0)
    );
    assert_eq!(
        flows
            .list(&query("company", Some("HI {{")))
            .await
            .map(|found| found.len()),
        Ok(1)
    );

    assert_eq!(flows.delete("company.team", "hello", now()).await, Ok(true));
    assert_eq!(
        flows.delete("company.team", "hello", now()).await,
        Ok(false)
    );
    assert_eq!(flows.get("company.team", "hello", None).await, Ok(None));
    let started = services
        .commands
        .start(start("hello", json!({"who": "x"})))
        .await;
    assert!(
        matches!(started, Err(Error::NotFound { what: "flow", .. })),
        "{started:?}"
    );
    let again = flows
        .save("company.team", "hello", HELLO.into(), now())
        .await;
    assert_eq!(again.map(|record| record.revision), Ok(3));
}

#[tokio::test]
async fn flows_are_refused_when_invalid_or_misnamed() {
    let services = services();
    let flows = &services.flows;
    let invalid = flows
        .save("company.team", "hello", HELLO.replace("Log", "Nope"), now())
        .await;
    assert!(
        matches!(&invalid, Err(Error::Invalid(message)) if message.starts_with("8:11: ")),
        "{invalid:?}"
    );
    let misnamed = flows
        .save("company.team", "other", HELLO.into(), now())
        .await;
    assert!(matches!(misnamed, Err(Error::Invalid(_))), "{misnamed:?}");
    assert_eq!(
        flows.revisions("company.team", "hello").await,
        Ok(Vec::new())
    );
}

#[tokio::test]
async fn an_execution_is_followed_to_its_end_with_its_logs() {
    let services = services();
    services
        .flows
        .save("company.team", "hello", HELLO.into(), now())
        .await
        .expect("saved");
    let mut request = start("hello", json!({"who": "Ada"}));
    request.labels = vec![peregrine_model::flow::Label {
        key: "team".into(),
        value: "data".into(),
    }];
    let execution = services.commands.start(request).await.expect("started");
    assert!(execution.labels.iter().any(|label| label.key == "team"));
    let versions = followed(&services, &execution.id).await;
    let last = versions.last().expect("at least one version");
    assert_eq!(last.state.current, State::Success);
    assert_eq!(
        versions
            .iter()
            .filter(|version| version.state.is_terminated())
            .count(),
        1
    );

    let lines = services
        .logs
        .find(&LogQuery {
            execution_id: Some(execution.id.clone()),
            task_id: Some("say".into()),
            min_level: Some(LogLevel::Info),
            ..LogQuery::default()
        })
        .await
        .expect("logs");
    assert_eq!(
        lines
            .iter()
            .map(|line| line.message.as_str())
            .collect::<Vec<_>>(),
        ["Hello Ada"]
    );
    let warnings = LogQuery {
        execution_id: Some(execution.id.clone()),
        min_level: Some(LogLevel::Warn),
        ..LogQuery::default()
    };
    assert_eq!(
        services.logs.find(&warnings).await.map(|lines| lines.len()),
        Ok(0)
    );

    // An ended execution: follow yields it once; kill and resume conflict; delete removes it.
    assert_eq!(followed(&services, &execution.id).await.len(), 1);
    assert!(matches!(
        services.commands.kill(&execution.id).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        services.commands.resume(&execution.id, None).await,
        Err(Error::Conflict(_))
    ));
    let search = ExecutionQuery {
        namespace: Some("company".into()),
        states: vec![State::Success],
        page: 1,
        size: 10,
        ..ExecutionQuery::default()
    };
    assert_eq!(
        services
            .executions
            .search(&search)
            .await
            .map(|page| page.total),
        Ok(1)
    );
    assert_eq!(services.executions.delete(&execution.id).await, Ok(true));
    assert_eq!(services.executions.get(&execution.id).await, Ok(None));
    assert_eq!(services.logs.delete_execution(&execution.id).await, Ok(1));
}

#[tokio::test]
async fn inputs_are_checked_at_start() {
    let services = services();
    services
        .flows
        .save("company.team", "hello", HELLO.into(), now())
        .await
        .expect("saved");
    let missing = services.commands.start(start("hello", json!({}))).await;
    assert!(matches!(missing, Err(Error::Invalid(_))), "{missing:?}");
    let revision = StartRequest {
        revision: Some(7),
        ..start("hello", json!({"who": "x"}))
    };
    assert!(matches!(
        services.commands.start(revision).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn a_paused_execution_is_resumed_and_a_running_one_killed() {
    let services = services();
    services
        .flows
        .save("company.team", "paused", PAUSED.into(), now())
        .await
        .expect("saved");
    let execution = services
        .commands
        .start(start("paused", json!({})))
        .await
        .expect("started");
    let paused = services
        .runtime
        .wait_for(&execution.id, Duration::from_secs(5), |execution| {
            execution.state.current == State::Paused
        })
        .await
        .expect("paused");
    assert!(matches!(
        services.executions.delete(&paused.id).await,
        Err(Error::Conflict(_))
    ));
    services
        .commands
        .resume(&paused.id, None)
        .await
        .expect("resumed");
    let versions = followed(&services, &paused.id).await;
    assert_eq!(
        versions.last().map(|last| last.state.current),
        Some(State::Success)
    );

    let second = services
        .commands
        .start(start("paused", json!({})))
        .await
        .expect("started");
    services.commands.kill(&second.id).await.expect("killed");
    let versions = followed(&services, &second.id).await;
    assert_eq!(
        versions.last().map(|last| last.state.current),
        Some(State::Killed)
    );

    let mut text = String::new();
    services.metrics.render(&mut text);
    assert!(
        text.contains("peregrine_executor_executions_started_total 2\n"),
        "{text}"
    );
    assert!(
        text.contains("peregrine_executor_executions_ended_total{state=\"KILLED\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("peregrine_executor_executions_ended_total{state=\"SUCCESS\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("peregrine_executor_executions_running 0\n"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_executions_are_not_found() {
    let services = services();
    for result in [
        services.commands.kill("nope").await,
        services.commands.resume("nope", None).await,
        services.commands.follow("nope").await.map(drop),
    ] {
        assert!(
            matches!(
                result,
                Err(Error::NotFound {
                    what: "execution",
                    ..
                })
            ),
            "{result:?}"
        );
    }
    assert_eq!(services.executions.delete("nope").await, Ok(false));
}

#[tokio::test]
async fn a_flow_folder_is_kept_in_step() {
    let services = services();
    let root = std::env::temp_dir().join(format!("peregrine-flow-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("team")).expect("a temporary folder");
    let file = root.join("team").join("hello.yaml");
    std::fs::write(&file, HELLO).expect("written");
    std::fs::write(root.join("notes.txt"), "not a flow").expect("written");
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let report: FolderReport = Arc::new(move |event| seen.lock().expect("events").push(event));
    let mut folder = FlowFolder::new(root.clone(), services.flows.clone(), report);
    let revision = || async {
        services
            .flows
            .get("company.team", "hello", None)
            .await
            .expect("get")
            .map(|record| record.revision)
    };

    folder.sync().await.expect("synced");
    assert_eq!(revision().await, Some(1));
    folder.sync().await.expect("synced");
    assert_eq!(
        revision().await,
        Some(1),
        "an unchanged file is not read again"
    );
    std::fs::write(&file, HELLO.replace("Hello", "Hello again")).expect("written");
    folder.sync().await.expect("synced");
    assert_eq!(revision().await, Some(2));
    std::fs::write(&file, HELLO.replace("Log", "Nope")).expect("written");
    folder.sync().await.expect("synced");
    assert_eq!(
        revision().await,
        Some(2),
        "an invalid file keeps the last revision"
    );
    std::fs::remove_file(&file).expect("removed");
    folder.sync().await.expect("synced");
    assert_eq!(revision().await, None);

    let events = events.lock().expect("events").clone();
    assert!(
        matches!(&events[0], FolderEvent::Saved { revision: 1, .. }),
        "{events:?}"
    );
    assert!(
        matches!(&events[2], FolderEvent::Invalid { problems, .. } if problems[0].starts_with("8:11: ")),
        "{events:?}"
    );
    assert!(
        matches!(&events[3], FolderEvent::Deleted { flow, .. } if flow == "company.team.hello"),
        "{events:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

const FAILING: &str = "id: failing
namespace: company.team
tasks:
  - id: ok
    type: io.kestra.plugin.core.debug.Return
    format: done
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
";

#[tokio::test]
async fn an_ended_failed_execution_is_restarted_from_its_failed_task() {
    let services = services();
    services
        .flows
        .save("company.team", "failing", FAILING.into(), now())
        .await
        .expect("saved");
    let execution = services
        .commands
        .start(start("failing", json!({})))
        .await
        .expect("started");
    let failed = services
        .runtime
        .wait_for(&execution.id, Duration::from_secs(5), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("ended");
    assert_eq!(failed.state.current, State::Failed);
    let restarted = services
        .commands
        .restart(&failed.id)
        .await
        .expect("restarted");
    assert_ne!(restarted.state.current, State::Failed);
    let again = services
        .runtime
        .wait_for(&failed.id, Duration::from_secs(5), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("ended again");
    let states: Vec<State> = again
        .state
        .histories
        .iter()
        .map(|entry| entry.state)
        .collect();
    assert!(states.contains(&State::Restarted), "{states:?}");
    assert_eq!(again.state.current, State::Failed);
    let boom = again
        .task_run_list
        .iter()
        .find(|run| run.task_id == "boom")
        .expect("boom ran");
    assert_eq!(
        boom.attempts.len(),
        2,
        "the failed task runs again as a new attempt"
    );
    let ok = again
        .task_run_list
        .iter()
        .find(|run| run.task_id == "ok")
        .expect("ok ran");
    assert_eq!(
        ok.attempts.len(),
        1,
        "a task that succeeded is not run again"
    );
    // A successful or running execution cannot be restarted.
    services
        .flows
        .save("company.team", "hello", HELLO.into(), now())
        .await
        .expect("saved");
    let hello = services
        .commands
        .start(start("hello", json!({"who": "x"})))
        .await
        .expect("started");
    services
        .runtime
        .wait_for(&hello.id, Duration::from_secs(5), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("ended");
    assert!(matches!(
        services.commands.restart(&hello.id).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        services.commands.restart("missing").await,
        Err(Error::NotFound { .. })
    ));
}
