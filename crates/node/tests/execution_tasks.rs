//! Tasks acting on executions, end to end in the runtime: `execution.Exit` ends its execution
//! (KILLED stopping a task still running), `execution.Resume` resumes another paused execution
//! with values for its Pause task's `onResume` inputs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_model::Validator;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_node::runtime::LocalRuntime;
use serde_json::{Map, Value, json};

const EXIT: &str = r#"
id: exit
namespace: company.team
inputs:
  - id: state
    type: STRING
tasks:
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: slow
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT30S
      - id: branch
        type: io.kestra.plugin.core.flow.Sequential
        tasks:
          - id: hello
            type: io.kestra.plugin.core.log.Log
            message: exiting
          - id: exit
            type: io.kestra.plugin.core.execution.Exit
            state: "{{ inputs.state }}"
  - id: never
    type: io.kestra.plugin.core.log.Log
    message: never
"#;

const PAUSED: &str = r#"
id: paused
namespace: company.team
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: approved
        type: BOOL
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.pause.onResume.approved }}"
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
    flowId: paused
    inputs:
      approved: "true"
"#;

fn runtime(sources: &[&str]) -> LocalRuntime {
    let registry = Arc::new(peregrine_node::catalogue());
    let runtime = LocalRuntime::start(registry.clone());
    for source in sources {
        let flow = Validator::new(&registry)
            .with_expressions(&peregrine_node::PebbleSyntax)
            .validate_one(source)
            .flow
            .expect("a valid flow");
        runtime.load(flow).expect("loaded");
    }
    runtime
}

async fn wait(
    runtime: &LocalRuntime,
    id: &str,
    done: impl Fn(&Execution) -> bool + Send + Sync + 'static,
) -> Execution {
    runtime
        .wait_for(id, Duration::from_secs(10), done)
        .await
        .expect("the awaited state")
}

fn inputs(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn task_state(execution: &Execution, task_id: &str) -> Option<State> {
    execution
        .task_run_list
        .iter()
        .find(|run| run.task_id == task_id)
        .map(|run| run.state.current)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_killed_stops_the_running_sibling_and_ends_the_execution() {
    let runtime = runtime(&[EXIT]);
    let started = Instant::now();
    let id = runtime
        .execute("company.team", "exit", &inputs(json!({"state": "KILLED"})))
        .expect("created");
    let execution = wait(&runtime, &id, |execution| execution.state.is_terminated()).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the sleep was killed"
    );
    assert_eq!(execution.state.current, State::Killed);
    for task in ["parallel", "slow", "branch", "exit"] {
        assert_eq!(task_state(&execution, task), Some(State::Killed), "{task}");
    }
    assert_eq!(task_state(&execution, "hello"), Some(State::Success));
    assert_eq!(task_state(&execution, "never"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_warning_ends_the_execution_at_once() {
    let runtime = runtime(&[EXIT]);
    let id = runtime
        .execute("company.team", "exit", &inputs(json!({"state": "WARNING"})))
        .expect("created");
    let execution = wait(&runtime, &id, |execution| execution.state.is_terminated()).await;
    assert_eq!(execution.state.current, State::Warning);
    for task in ["parallel", "branch", "exit"] {
        assert_eq!(task_state(&execution, task), Some(State::Warning), "{task}");
    }
    assert_eq!(task_state(&execution, "never"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_resumes_another_paused_execution_with_typed_inputs() {
    let runtime = runtime(&[PAUSED, RESUME]);
    let paused = runtime
        .execute("company.team", "paused", &Map::new())
        .expect("created");
    wait(&runtime, &paused, |execution| {
        execution.state.current == State::Paused
    })
    .await;
    let resume = runtime
        .execute(
            "company.team",
            "resume",
            &inputs(json!({"executionId": paused})),
        )
        .expect("created");
    let resumer = wait(&runtime, &resume, |execution| {
        execution.state.is_terminated()
    })
    .await;
    assert_eq!(resumer.state.current, State::Success);
    let resumed = wait(&runtime, &paused, |execution| {
        execution.state.is_terminated()
    })
    .await;
    assert_eq!(resumed.state.current, State::Success);
    let after = resumed
        .task_run_list
        .iter()
        .find(|run| run.task_id == "after")
        .and_then(|run| run.outputs.clone())
        .unwrap_or_default();
    assert_eq!(after.get("value"), Some(&json!("true")));

    // The resumed execution runs again: a second resume is refused and fails the task.
    let again = runtime
        .execute(
            "company.team",
            "resume",
            &inputs(json!({"executionId": paused})),
        )
        .expect("created");
    let refused = wait(&runtime, &again, |execution| {
        execution.state.is_terminated()
    })
    .await;
    assert_eq!(refused.state.current, State::Failed);
}
