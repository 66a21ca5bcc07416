//! Flow triggers and log.Fetch through the in-process runtime: a source flow ends, the flows
//! listening to it start with the right trigger variables and inputs; a flow fetches its own logs.

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::Validator;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_node::runtime::LocalRuntime;
use serde_json::{Map, Value, json};

const TIMEOUT: Duration = Duration::from_secs(10);

const SOURCE: &str = r#"
id: source
namespace: company.team
labels:
  team: data
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "from {{ execution.id }}"
outputs:
  - id: result
    type: STRING
    value: "{{ outputs.only.value }}"
"#;

const LISTENER: &str = r#"
id: listener
namespace: company.team
inputs:
  - id: from-parent
    type: STRING
  - id: count
    type: INT
    defaults: 1
tasks:
  - id: echo
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs['from-parent'] }} / {{ trigger.outputs.result }} / {{ inputs.count }}"
triggers:
  - id: on_source
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      from-parent: "{{ outputs.only.value }}"
      count: "{{ labels.team == 'data' ? 2 : 3 }}"
    labels:
      started-by: "{{ flow.id }}"
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.team
        flowId: source
"#;

/// Listens to RUNNING and to the end: two executions per source run.
const ON_EVERY_STATE: &str = r#"
id: every_state
namespace: company.team
tasks:
  - id: state
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.state }}"
triggers:
  - id: on_change
    type: io.kestra.plugin.core.trigger.Flow
    states: [RUNNING, SUCCESS]
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: company
        comparison: PREFIX
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ flow.id == 'every_state' and execution.id != '' }}"
"#;

const DISABLED: &str = r#"
id: disabled_trigger
namespace: company.team
tasks:
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: never
triggers:
  - id: off
    type: io.kestra.plugin.core.trigger.Flow
    disabled: true
"#;

const FAILED_ONLY: &str = r#"
id: failed_only
namespace: company.team
tasks:
  - id: never
    type: io.kestra.plugin.core.debug.Return
    format: never
triggers:
  - id: on_failure
    type: io.kestra.plugin.core.trigger.Flow
    states: [FAILED]
"#;

const OTHER: &str = r#"
id: other
namespace: company.team
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: other
"#;

const PRECONDITIONS: &str = r#"
id: both_done
namespace: company.team
tasks:
  - id: done
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.flowId }}"
triggers:
  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - namespace: company.team
          flowId: source
          states: [SUCCESS]
        - namespace: company.team
          flowId: other
          states: [SUCCESS]
      where:
        - id: same_namespace
          operand: OR
          filters:
            - field: NAMESPACE
              type: EQUAL_TO
              value: company.team
            - field: EXPRESSION
              type: IS_TRUE
              value: "{{ labels.team == 'data' }}"
"#;

fn flow(source: &str) -> peregrine_model::Flow {
    let registry = peregrine_node::catalogue();
    let report = Validator::new(&registry)
        .with_expressions(&peregrine_node::PebbleSyntax)
        .validate_one(source);
    let problems: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(report.flow.is_some(), "invalid flow: {problems:?}");
    report.flow.expect("a valid flow")
}

fn start(flows: &[&str]) -> LocalRuntime {
    let runtime = LocalRuntime::start(Arc::new(peregrine_node::catalogue()));
    for source in flows {
        runtime.load(flow(source)).expect("loaded");
    }
    runtime
}

async fn run(runtime: &LocalRuntime, flow_id: &str) -> Execution {
    let id = runtime
        .execute("company.team", flow_id, &Map::new())
        .expect("started");
    runtime
        .wait_for(&id, TIMEOUT, |execution| execution.state.is_terminated())
        .await
        .expect("ended")
}

/// Waits until `count` executions of `flow_id` have ended; returns them oldest first.
async fn ended(runtime: &LocalRuntime, flow_id: &str, count: usize) -> Vec<Execution> {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let mut found: Vec<Execution> = runtime
            .executions()
            .into_iter()
            .filter(|execution| execution.flow_id == flow_id)
            .collect();
        if found.len() >= count
            && found
                .iter()
                .all(|execution| execution.state.is_terminated())
        {
            found.sort_by_key(|execution| execution.state.start_date);
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} execution(s) of {flow_id} expected, found {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn count(runtime: &LocalRuntime, flow_id: &str) -> usize {
    runtime
        .executions()
        .iter()
        .filter(|execution| execution.flow_id == flow_id)
        .count()
}

fn output(execution: &Execution, task_id: &str) -> Value {
    execution
        .task_run_list
        .iter()
        .find(|run| run.task_id == task_id)
        .and_then(|run| run.outputs.as_ref())
        .and_then(|outputs| outputs.get("value"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_trigger_starts_the_listener_with_trigger_variables_and_inputs() {
    let runtime = start(&[SOURCE, LISTENER, DISABLED, FAILED_ONLY]);
    let source = run(&runtime, "source").await;
    assert_eq!(source.state.current, State::Success);

    let listener = ended(&runtime, "listener", 1).await.remove(0);
    assert_eq!(listener.state.current, State::Success, "{listener:?}");
    let trigger = listener.trigger.clone().expect("a trigger");
    assert_eq!(trigger.id, "on_source");
    assert_eq!(trigger.type_name, "io.kestra.plugin.core.trigger.Flow");
    let expected_result = format!("from {}", source.id);
    assert_eq!(
        Value::Object(trigger.variables.clone().expect("variables")),
        json!({
            "executionId": source.id,
            "namespace": "company.team",
            "flowId": "source",
            "flowRevision": 1,
            "state": "SUCCESS",
            "outputs": {"result": expected_result},
        })
    );
    let inputs = listener.inputs.clone().expect("inputs");
    assert_eq!(inputs["from-parent"], json!(expected_result));
    assert_eq!(inputs["count"], json!(2), "typed as the INT input");
    assert!(
        listener
            .labels
            .iter()
            .any(|label| label.key == "started-by" && label.value == "listener"),
        "{:?}",
        listener.labels
    );
    assert_eq!(
        output(&listener, "echo"),
        json!(format!("{expected_result} / {expected_result} / 2"))
    );
    // The listener's own SUCCESS does not fire it again, nor anything else.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count(&runtime, "listener"), 1);
    assert_eq!(count(&runtime, "disabled_trigger"), 0);
    assert_eq!(count(&runtime, "failed_only"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_trigger_fires_on_each_listened_state_change() {
    let runtime = start(&[OTHER, ON_EVERY_STATE]);
    let other = run(&runtime, "other").await;
    let fired = ended(&runtime, "every_state", 2).await;
    // Both may start in the same millisecond: compare without order.
    let mut states: Vec<String> = fired
        .iter()
        .map(|execution| output(execution, "state").to_string())
        .collect();
    states.sort();
    assert_eq!(states, ["\"RUNNING\"", "\"SUCCESS\""]);
    for execution in &fired {
        let variables = execution.trigger.as_ref().and_then(|t| t.variables.clone());
        assert_eq!(
            variables.and_then(|v| v.get("executionId").cloned()),
            Some(json!(other.id))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preconditions_wait_for_every_upstream_flow_in_the_window() {
    let runtime = start(&[SOURCE, OTHER, PRECONDITIONS]);
    run(&runtime, "source").await;
    run(&runtime, "source").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        count(&runtime, "both_done"),
        0,
        "only one upstream flow ran"
    );

    let other = run(&runtime, "other").await;
    let fired = ended(&runtime, "both_done", 1).await;
    assert_eq!(fired[0].state.current, State::Success);
    assert_eq!(output(&fired[0], "done"), json!("other"));
    let variables = fired[0].trigger.as_ref().and_then(|t| t.variables.clone());
    assert_eq!(
        variables.and_then(|v| v.get("executionId").cloned()),
        Some(json!(other.id))
    );

    // The window started over: one more upstream run is not enough.
    run(&runtime, "other").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(count(&runtime, "both_done"), 1);
}

const FETCH: &str = r#"
id: fetch_logs
namespace: company.team
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: [two, three]
  - id: quiet
    type: io.kestra.plugin.core.log.Log
    message: debug only
    level: DEBUG
  - id: all
    type: io.kestra.plugin.core.log.Fetch
  - id: second_only
    type: io.kestra.plugin.core.log.Fetch
    executionId: "{{ execution.id }}"
    tasksId: [second]
  - id: debug
    type: io.kestra.plugin.core.log.Fetch
    level: DEBUG
  - id: lines
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(outputs.second_only.uri) }}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reads_the_execution_logs_into_a_file() {
    let runtime = start(&[FETCH]);
    let execution = run(&runtime, "fetch_logs").await;
    assert_eq!(execution.state.current, State::Success, "{execution:?}");
    let outputs = |task_id: &str| {
        execution
            .task_run_list
            .iter()
            .find(|run| run.task_id == task_id)
            .and_then(|run| run.outputs.clone())
            .unwrap_or_default()
    };
    assert_eq!(outputs("all")["size"], json!(3));
    assert_eq!(outputs("second_only")["size"], json!(2));
    assert_eq!(outputs("debug")["size"], json!(4));
    assert!(
        outputs("all")["uri"]
            .as_str()
            .is_some_and(|uri| uri.starts_with("kestra:///") && uri.ends_with(".ion"))
    );
    let text = output(&execution, "lines");
    let messages: Vec<String> = text
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(line["executionId"], json!(execution.id));
            assert_eq!(line["taskId"], json!("second"));
            line["message"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(messages, ["two", "three"]);
}
