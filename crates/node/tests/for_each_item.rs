//! ForEachItem end to end in process: a file of items is written, split into batches, one
//! subflow runs per batch, the subflows' states are counted and their outputs merged.

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::Validator;
use peregrine_model::execution::{Execution, TaskRun};
use peregrine_model::state::State;
use peregrine_node::runtime::LocalRuntime;
use serde_json::{Map, Value, json};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Returns its batch; its flow output is the batch's text.
const CHILD: &str = r#"
id: child
namespace: company.team
inputs:
  - id: items
    type: STRING
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.items) }}"
outputs:
  - id: value
    type: STRING
    value: "{{ outputs.read.value }}"
"#;

const FAILING_CHILD: &str = r#"
id: failing_child
namespace: company.team
inputs:
  - id: items
    type: STRING
tasks:
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
"#;

/// A parent over `content` in batches of two rows, starting `child_id`.
fn parent(content: &str, child_id: &str, options: &str) -> String {
    format!(
        r#"
id: parent
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "{content}"
    extension: .txt
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "{{{{ outputs.write.uri }}}}"
    batch:
      rows: 2
    namespace: company.team
    flowId: {child_id}
    inputs:
      items: "{{{{ taskrun.items }}}}"
{options}
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "done"
"#
    )
}

async fn run(parent: &str, children: &[&str]) -> Execution {
    let registry = Arc::new(peregrine_node::catalogue());
    let validator = Validator::new(&registry).with_expressions(&peregrine_node::PebbleSyntax);
    let runtime = LocalRuntime::start(registry.clone());
    for source in children.iter().chain([&parent]) {
        let report = validator.validate_one(source);
        assert!(report.flow.is_some(), "{:?}", report.diagnostics);
        let flow = report.flow.expect("a valid flow");
        runtime.load(flow).expect("loaded");
    }
    let id = runtime
        .execute("company.team", "parent", &Map::new())
        .expect("started");
    runtime
        .wait_for(&id, TIMEOUT, |execution| execution.state.is_terminated())
        .await
        .expect("ended")
}

fn task_ids(execution: &Execution) -> Vec<&str> {
    execution
        .task_run_list
        .iter()
        .map(|run| run.task_id.as_str())
        .collect()
}

fn task_run<'a>(execution: &'a Execution, task_id: &str) -> &'a TaskRun {
    execution
        .task_run_list
        .iter()
        .find(|run| run.task_id == task_id)
        .expect("a task run of the task")
}

fn output(execution: &Execution, task_id: &str, name: &str) -> Value {
    task_run(execution, task_id)
        .outputs
        .as_ref()
        .and_then(|outputs| outputs.get(name))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_batch_runs_a_subflow_and_their_outputs_are_merged() {
    let options = "  - id: merged\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ read(outputs.each_merge.subflowOutputs) }}\"";
    let execution = run(&parent("a\\nb\\nc\\nd\\ne\\n", "child", options), &[CHILD]).await;
    assert_eq!(execution.state.current, State::Success, "{execution:#?}");
    assert_eq!(
        task_ids(&execution),
        [
            "write",
            "each",
            "each_split",
            "each_items",
            "each_merge",
            "merged",
            "after"
        ]
    );
    let items = task_run(&execution, "each_items");
    assert_eq!(
        output(&execution, "each_items", "numberOfBatches"),
        json!(3)
    );
    assert_eq!(
        output(&execution, "each_items", "iterations"),
        json!({ "CREATED": 0, "RUNNING": 0, "SUCCESS": 3 })
    );
    assert_eq!(items.attempts.len(), 1);
    assert_eq!(items.attempts[0].state.current, State::Success);
    let splits = output(&execution, "each_split", "splits");
    assert!(
        splits
            .as_str()
            .is_some_and(|uri| uri.contains("/tasks/each-split/")),
        "{splits}"
    );
    let merged = output(&execution, "merged", "value");
    let lines: Vec<Value> = merged
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
        .collect();
    assert_eq!(
        lines,
        [
            json!({ "value": "a\nb\n" }),
            json!({ "value": "c\nd\n" }),
            json!({ "value": "e\n" })
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_subflows_fail_the_step_and_stop_the_flow() {
    let execution = run(
        &parent("1\\n2\\n3\\n", "failing_child", ""),
        &[FAILING_CHILD],
    )
    .await;
    assert_eq!(execution.state.current, State::Failed);
    assert_eq!(
        task_ids(&execution),
        ["write", "each", "each_split", "each_items"]
    );
    assert_eq!(
        output(&execution, "each_items", "iterations"),
        json!({ "CREATED": 0, "RUNNING": 0, "FAILED": 2 })
    );
    let items = task_run(&execution, "each_items");
    assert_eq!(items.attempts.len(), 1);
    assert_eq!(items.attempts[0].state.current, State::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_failures_end_in_warning() {
    let parent = parent("1\\n2\\n3\\n", "failing_child", "").replace(
        "    type: io.kestra.plugin.core.flow.ForEachItem\n",
        "    type: io.kestra.plugin.core.flow.ForEachItem\n    allowFailure: true\n",
    );
    let execution = run(&parent, &[FAILING_CHILD]).await;
    assert_eq!(execution.state.current, State::Warning);
    assert_eq!(
        task_ids(&execution),
        ["write", "each", "each_split", "each_items", "after"]
    );
    assert_eq!(task_run(&execution, "each").state.current, State::Warning);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_waiting_every_started_subflow_counts_as_a_success() {
    let options = "    wait: false";
    let execution = run(
        &parent("1\\n2\\n3\\n", "failing_child", options),
        &[FAILING_CHILD],
    )
    .await;
    assert_eq!(execution.state.current, State::Success);
    assert_eq!(
        output(&execution, "each_items", "iterations"),
        json!({ "RUNNING": 0, "SUCCESS": 2 })
    );
    assert_eq!(
        output(&execution, "each_merge", "subflowOutputs"),
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_starts_nothing() {
    let execution = run(&parent("", "child", ""), &[CHILD]).await;
    assert_eq!(execution.state.current, State::Success);
    assert_eq!(
        task_ids(&execution),
        [
            "write",
            "each",
            "each_split",
            "each_items",
            "each_merge",
            "after"
        ]
    );
    assert_eq!(task_run(&execution, "each_items").outputs, None);
}

/// Kestra's own ForEachItem flows (../shared/compat/kestra), with the items file its tests
/// upload stored first and passed as the FILE input.
mod kestra_flows {
    use std::path::{Path, PathBuf};

    use peregrine_node::runtime::RuntimeOptions;
    use peregrine_ports::storage::StoragePath;

    use super::*;

    fn corpus() -> Option<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/kestra");
        root.join("expectations.yaml").exists().then_some(root)
    }

    /// Runs `file` with `lines` padded integers as its `file` input (and `inputs`), with the
    /// child flow `child` loaded.
    async fn run_kestra(file: &str, child: &str, lines: usize, inputs: Value) -> Option<Execution> {
        run_kestra_in(file, child, lines, inputs)
            .await
            .map(|(_, execution)| execution)
    }

    /// Like [`run_kestra`], with the runtime (to look at the subflows).
    async fn run_kestra_in(
        file: &str,
        child: &str,
        lines: usize,
        inputs: Value,
    ) -> Option<(LocalRuntime, Execution)> {
        let root = corpus()?.join("flows/valids");
        let registry = Arc::new(peregrine_node::catalogue());
        let validator = Validator::new(&registry).with_expressions(&peregrine_node::PebbleSyntax);
        let options = RuntimeOptions::from_env();
        let storage = options.services.storage.clone();
        let runtime = LocalRuntime::start_with(registry.clone(), options);
        let mut parent = None;
        for name in [child, file] {
            let source = std::fs::read_to_string(root.join(name)).expect("flow file");
            let flow = validator.validate_one(&source).flow.expect("valid flow");
            parent = Some((flow.namespace.clone(), flow.id.clone()));
            runtime.load(flow).expect("loaded");
        }
        let (namespace, flow_id) = parent?;
        let content: Vec<String> = (0..lines).map(|line| format!("{line:>20}")).collect();
        let uri = "kestra:///io/kestra/tests/uploads/items.txt";
        let path = StoragePath::from_uri(uri).expect("a storage path");
        storage
            .put(&path, content.join("\n").into_bytes())
            .await
            .expect("stored");
        let mut inputs = inputs.as_object().cloned().unwrap_or_default();
        inputs.insert("file".into(), json!(uri));
        let id = runtime
            .execute(&namespace, &flow_id, &inputs)
            .expect("started");
        let execution = runtime
            .wait_for(&id, TIMEOUT, |execution| execution.state.is_terminated())
            .await
            .expect("ended");
        Some((runtime, execution))
    }

    fn iterations(execution: &Execution) -> Value {
        output(execution, "each_items", "iterations")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn for_each_item() {
        let inputs = json!({ "batch": "4" });
        let child = "for-each-item-subflow.yaml";
        let Some((runtime, execution)) =
            run_kestra_in("for-each-item.yaml", child, 102, inputs).await
        else {
            return;
        };
        let children: Vec<Execution> = runtime
            .executions()
            .into_iter()
            .filter(|other| other.flow_id == "for-each-item-subflow")
            .collect();
        assert_eq!(children.len(), 26);
        for child in &children {
            assert_eq!(child.state.current, State::Success);
            let items = child
                .inputs
                .as_ref()
                .and_then(|inputs| inputs.get("items"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let prefix = "kestra:///io/kestra/tests/for-each-item/executions/";
            assert!(
                items.starts_with(prefix)
                    && items.contains("/tasks/each-split/")
                    && items.ends_with(".txt"),
                "{items}"
            );
            let correlation = child
                .labels
                .iter()
                .find(|label| label.key == "system.correlationId")
                .map(|label| label.value.as_str());
            assert_eq!(correlation, Some(execution.id.as_str()));
        }
        assert_eq!(execution.state.current, State::Success);
        assert_eq!(execution.task_run_list.len(), 4);
        assert_eq!(execution.task_run_list[2].task_id, "each_items");
        assert_eq!(
            output(&execution, "each_items", "numberOfBatches"),
            json!(26)
        );
        assert_eq!(
            iterations(&execution),
            json!({ "CREATED": 0, "RUNNING": 0, "SUCCESS": 26 })
        );
        let empty = run_kestra(
            "for-each-item.yaml",
            "for-each-item-subflow.yaml",
            0,
            json!({ "batch": "4" }),
        )
        .await
        .expect("the corpus is there");
        assert_eq!(empty.state.current, State::Success);
        assert_eq!(empty.task_run_list.len(), 4);
        assert_eq!(empty.task_run_list[2].outputs, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn for_each_item_failed_and_allowed() {
        let child = "for-each-item-subflow-failed.yaml";
        let Some(failed) = run_kestra("for-each-item-failed.yaml", child, 102, json!({})).await
        else {
            return;
        };
        assert_eq!(failed.state.current, State::Failed);
        assert_eq!(failed.task_run_list.len(), 3);
        assert_eq!(
            iterations(&failed),
            json!({ "CREATED": 0, "RUNNING": 0, "FAILED": 26 })
        );
        assert_eq!(failed.task_run_list[2].attempts.len(), 1);
        let file = "task-allow-failure-executable-foreachitem.yml";
        let warned = run_kestra(file, child, 10, json!({}))
            .await
            .expect("corpus");
        assert_eq!(warned.state.current, State::Warning);
        assert_eq!(warned.task_run_list.len(), 4);
        let file = "task-allow-warning-executable-foreachitem.yml";
        let allowed = run_kestra(file, child, 10, json!({}))
            .await
            .expect("corpus");
        assert_eq!(allowed.state.current, State::Success);
        assert_eq!(allowed.task_run_list.len(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn for_each_item_no_wait_and_outputs() {
        let Some(no_wait) = run_kestra(
            "for-each-item-no-wait.yaml",
            "for-each-item-subflow.yaml",
            102,
            json!({}),
        )
        .await
        else {
            return;
        };
        assert_eq!(no_wait.state.current, State::Success);
        assert_eq!(no_wait.task_run_list.len(), 4);
        assert_eq!(iterations(&no_wait), json!({ "RUNNING": 0, "SUCCESS": 26 }));
        let outputs = run_kestra(
            "for-each-item-outputs.yaml",
            "for-each-item-outputs-subflow.yaml",
            102,
            json!({}),
        )
        .await
        .expect("corpus");
        assert_eq!(outputs.state.current, State::Success);
        assert_eq!(outputs.task_run_list.len(), 5);
        let merged = &outputs.task_run_list[3];
        assert_eq!(merged.task_id, "each_merge");
        let uri = output(&outputs, "each_merge", "subflowOutputs");
        assert!(
            uri.as_str()
                .is_some_and(|uri| uri.starts_with("kestra:///")),
            "{uri}"
        );
        assert_eq!(output(&outputs, "return", "value"), uri);
    }
}
