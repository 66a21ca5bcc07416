//! An execution runs on its own flow revision: paused on revision 1, its flow updated to
//! revision 2 with other tasks, the server started again on the same SQLite store, then resumed
//! by an `execution.Resume` task, it ends with revision 1's tasks and `onResume` inputs.

mod common;

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_node::backends::Backends;
use peregrine_node::server::LocalServices;
use peregrine_ports::repository::{ExecutionCommands, FlowRepository, StartRequest};
use serde_json::{Map, Value, json};

const NAMESPACE: &str = "company.team";

const REVISION_1: &str = r#"
id: approval
namespace: company.team
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOL
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "approved={{ outputs.pause.onResume.approved }}"
"#;

const REVISION_2: &str = r#"
id: approval
namespace: company.team
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
  - id: changed
    type: io.kestra.plugin.core.log.Log
    message: revision 2
"#;

const RESUME: &str = r#"
id: resume
namespace: company.team
inputs:
  - id: executionId
    type: STRING
tasks:
  - id: resume
    type: io.kestra.plugin.core.execution.Resume
    executionId: "{{ inputs.executionId }}"
    namespace: company.team
    flowId: approval
    inputs:
      approved: "true"
"#;

const WAIT: Duration = Duration::from_secs(20);

fn start(flow_id: &str, inputs: Value) -> StartRequest {
    let inputs: Map<String, Value> = match inputs {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    StartRequest {
        namespace: NAMESPACE.into(),
        flow_id: flow_id.into(),
        inputs,
        ..StartRequest::default()
    }
}

async fn save(services: &LocalServices, id: &str, source: &str) -> u32 {
    let record = services
        .flows
        .save(NAMESPACE, id, source.to_string(), jiff::Timestamp::now())
        .await
        .expect("the flow is saved");
    record.revision
}

/// The first server: revision 1 saved, an execution paused on it, then revision 2 saved.
async fn pause_on_revision_1(backends: &Backends) -> String {
    let registry = Arc::new(peregrine_node::catalogue());
    let (services, _) = LocalServices::open(registry, backends)
        .await
        .expect("the server opens");
    assert_eq!(save(&services, "approval", REVISION_1).await, 1);
    let execution = services
        .commands
        .start(start("approval", json!({})))
        .await
        .expect("started");
    let paused = services
        .runtime
        .wait_for(&execution.id, WAIT, |execution| {
            execution.state.current == State::Paused
        })
        .await
        .expect("paused");
    assert_eq!(paused.flow_revision, 1);
    assert_eq!(save(&services, "approval", REVISION_2).await, 2);
    assert_eq!(save(&services, "resume", RESUME).await, 1);
    execution.id
}

/// The second server on the same store: the paused execution taken back, then resumed.
async fn resume_after_restart(backends: &Backends, paused: &str) -> Execution {
    let registry = Arc::new(peregrine_node::catalogue());
    let (services, reopened) = LocalServices::open(registry, backends)
        .await
        .expect("the server opens again");
    assert_eq!(reopened.recovered.executions, 1, "{reopened:?}");
    assert!(reopened.recovered.skipped.is_empty(), "{reopened:?}");
    let resumer = services
        .commands
        .start(start("resume", json!({"executionId": paused})))
        .await
        .expect("started");
    let resumer = services
        .runtime
        .wait_for(&resumer.id, WAIT, |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("the resuming execution ends");
    assert_eq!(resumer.state.current, State::Success, "{resumer:#?}");
    services
        .runtime
        .wait_for(paused, WAIT, |execution| execution.state.is_terminated())
        .await
        .expect("the paused execution ends")
}

#[test]
fn a_paused_execution_resumed_after_a_restart_ends_on_its_own_revision() {
    let folder = std::env::temp_dir().join(format!("peregrine-revisions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a folder");
    let backends = common::sqlite_backends(&folder);
    let first = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let paused = first.block_on(pause_on_revision_1(&backends));
    // The first server stops: its event loop, worker and timers are gone.
    first.shutdown_timeout(Duration::from_secs(5));

    let second = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let ended = second.block_on(resume_after_restart(&backends, &paused));
    second.shutdown_timeout(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&folder);

    assert_eq!(ended.state.current, State::Success, "{ended:#?}");
    assert_eq!(ended.flow_revision, 1);
    let tasks: Vec<&str> = ended
        .task_run_list
        .iter()
        .map(|run| run.task_id.as_str())
        .collect();
    assert_eq!(tasks, ["pause", "after"]);
    let after = &ended.task_run_list[1];
    let value = after
        .outputs
        .as_ref()
        .and_then(|outputs| outputs.get("value"))
        .cloned();
    assert_eq!(value, Some(json!("approved=true")));
}
