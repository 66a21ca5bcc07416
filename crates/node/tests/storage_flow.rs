//! A flow chaining the key-value store, internal storage and the I/O expression functions,
//! run end to end in process (worker on a multi-thread runtime, as `peregrine flow test`).

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::Validator;
use peregrine_model::state::State;
use serde_json::{Map, Value, json};

const FLOW: &str = r#"
id: storage_flow
namespace: company.team
tasks:
  - id: set
    type: io.kestra.plugin.core.kv.Set
    key: greeting
    value: hello
  - id: get
    type: io.kestra.plugin.core.kv.Get
    key: greeting
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "{{ outputs.get.value }} {{ kv('greeting') }}"
    extension: .txt
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{ outputs.write.uri }}"
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(outputs.write.uri) }} ({{ fileSize(outputs.write.uri) }} bytes)"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_and_files_flow_from_task_to_task() {
    let registry = Arc::new(peregrine_node::catalogue());
    let report = Validator::new(&registry)
        .with_expressions(&peregrine_node::PebbleSyntax)
        .validate_one(FLOW);
    let flow = report.flow.expect("the flow is valid");
    let run = peregrine_node::local::run_flow(
        registry.clone(),
        flow,
        Vec::new(),
        &Map::new(),
        Duration::from_secs(10),
    )
    .await
    .expect("the execution ends");
    let output = |task_id: &str, name: &str| -> Value {
        run.execution
            .task_run_list
            .iter()
            .find(|task_run| task_run.task_id == task_id)
            .and_then(|task_run| task_run.outputs.as_ref())
            .and_then(|outputs| outputs.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        run.execution.state.current,
        State::Success,
        "{:#?}",
        run.logs
    );
    assert_eq!(output("get", "value"), json!("hello"));
    assert_eq!(output("size", "size"), json!(11));
    assert_eq!(output("read", "value"), json!("hello hello (11 bytes)"));
}
