//! The storage, key-value and state tasks run against in-memory services, chained the way a
//! flow chains them (one task's outputs feed the next).

use std::sync::Arc;

use peregrine_model::expressions::Expressions;
use peregrine_model::flow::Task;
use peregrine_plugin_api::{
    LogEntry, LogSink, RunContext, RunnableTask, Runners, TaskError, TaskServices,
};
use peregrine_ports::secrets::EnvSecrets;
use serde_json::{Map, Value, json};

struct Pebble;

impl Expressions for Pebble {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let context = peregrine_expr::Context::new(variables);
        peregrine_expr::render_typed(template, &context).map_err(|error| error.to_string())
    }
}

struct NoLogs;

impl LogSink for NoLogs {
    fn emit(&self, _entry: LogEntry) {}
}

/// Runs one task (`type` under `io.kestra.plugin.core.`) on `services`, as run `run_id` of
/// execution `exec1` of `company.team.my_flow`, with `outputs` of earlier tasks visible.
async fn run(
    services: &TaskServices,
    task: Value,
    outputs: &Value,
    taskrun_value: Option<&str>,
) -> Result<Map<String, Value>, TaskError> {
    let mut task = task;
    if let Some(type_name) = task.get("type").and_then(Value::as_str) {
        task["type"] = json!(format!("io.kestra.plugin.core.{type_name}"));
    }
    let task: Task = serde_json::from_value(task).expect("a task");
    let task_run = serde_json::from_value(json!({
        "id": "run1",
        "executionId": "exec1",
        "namespace": "company.team",
        "flowId": "my_flow",
        "taskId": task.common.id,
        "value": taskrun_value,
        "state": {"current": "RUNNING", "histories": []},
    }))
    .expect("a task run");
    let variables = json!({
        "flow": {"namespace": "company.team", "id": "my_flow"},
        "outputs": outputs,
    });
    let context = RunContext::new(
        task_run,
        task,
        variables,
        1,
        Arc::new(Pebble),
        Arc::new(NoLogs),
        services.clone(),
    );
    let mut runners = Runners::default();
    peregrine_plugin_core::runners(&mut runners);
    let runnable: Box<dyn RunnableTask> = runners.build(&context.task)?;
    Ok(runnable.run(&context).await?.outputs)
}

#[tokio::test]
async fn kv_set_then_get_keys_and_delete() {
    let services = TaskServices::in_memory();
    let none = json!({});
    let set = json!({"id": "set", "type": "kv.Set", "key": "greeting", "value": "{{ flow.id }}"});
    assert_eq!(run(&services, set, &none, None).await, Ok(Map::new()));
    let typed =
        json!({"id": "set", "type": "kv.Set", "key": "count", "value": "42", "kvType": "NUMBER"});
    run(&services, typed, &none, None)
        .await
        .expect("set a number");

    let get = json!({"id": "get", "type": "kv.Get", "key": "greeting"});
    let outputs = run(&services, get, &none, None).await.expect("get");
    assert_eq!(outputs.get("value"), Some(&json!("my_flow")));
    let get_count = json!({"id": "get", "type": "kv.Get", "key": "count"});
    let outputs = run(&services, get_count, &none, None).await.expect("get");
    assert_eq!(outputs.get("value"), Some(&json!(42)));

    let careful =
        json!({"id": "set", "type": "kv.Set", "key": "count", "value": 1, "overwrite": false});
    assert!(run(&services, careful, &none, None).await.is_err());

    let keys = json!({"id": "keys", "type": "kv.GetKeys", "prefix": "gr"});
    let outputs = run(&services, keys, &none, None).await.expect("keys");
    assert_eq!(outputs.get("keys"), Some(&json!(["greeting"])));

    let delete = json!({"id": "delete", "type": "kv.Delete", "key": "greeting"});
    let outputs = run(&services, delete.clone(), &none, None)
        .await
        .expect("delete");
    assert_eq!(outputs.get("deleted"), Some(&json!(true)));
    let outputs = run(&services, delete, &none, None)
        .await
        .expect("delete again");
    assert_eq!(outputs.get("deleted"), Some(&json!(false)));
    let strict = json!({"id": "get", "type": "kv.Get", "key": "greeting", "errorOnMissing": true});
    assert!(run(&services, strict, &none, None).await.is_err());
    let lenient = json!({"id": "get", "type": "kv.Get", "key": "greeting"});
    let outputs = run(&services, lenient, &none, None).await.expect("get");
    assert_eq!(outputs.get("value"), Some(&Value::Null));
}

#[tokio::test]
async fn write_then_size_concat_split_and_delete() {
    let services = TaskServices::in_memory();
    let none = json!({});
    let write = json!({"id": "write_it", "type": "storage.Write", "content": "a\nb\nc\n", "extension": ".csv"});
    let written = run(&services, write, &none, None).await.expect("write");
    let uri = written["uri"].as_str().expect("a uri").to_string();
    assert!(
        uri.starts_with("kestra:///company/team/my-flow/executions/exec1/tasks/write-it/run1/"),
        "{uri}"
    );
    assert!(uri.ends_with(".csv"), "{uri}");
    let outputs = json!({"write_it": {"uri": uri}});

    let size = json!({"id": "size", "type": "storage.Size", "uri": "{{ outputs.write_it.uri }}"});
    let sized = run(&services, size, &outputs, None).await.expect("size");
    assert_eq!(sized.get("size"), Some(&json!(6)));

    let concat = json!({
        "id": "concat", "type": "storage.Concat",
        "files": ["{{ outputs.write_it.uri }}", "{{ outputs.write_it.uri }}"],
        "separator": "--\n",
    });
    let concatenated = run(&services, concat, &outputs, None)
        .await
        .expect("concat");
    let concat_uri = concatenated["uri"].as_str().expect("a uri");
    assert!(concat_uri.ends_with(".tmp"), "{concat_uri}");
    let path = peregrine_ports::storage::StoragePath::from_uri(concat_uri).expect("a path");
    let content = services.storage.get(&path).await.expect("concatenated");
    assert_eq!(content, b"a\nb\nc\n--\na\nb\nc\n--\n");

    let split = json!({"id": "split", "type": "storage.Split", "from": "{{ outputs.write_it.uri }}", "rows": 2});
    let parts = run(&services, split, &outputs, None).await.expect("split");
    let uris = parts["uris"].as_array().expect("uris");
    assert_eq!(uris.len(), 2);
    assert!(
        uris.iter()
            .all(|uri| uri.as_str().is_some_and(|uri| uri.ends_with(".csv")))
    );

    let delete =
        json!({"id": "delete", "type": "storage.Delete", "uri": "{{ outputs.write_it.uri }}"});
    let deleted = run(&services, delete, &outputs, None)
        .await
        .expect("delete");
    assert_eq!(deleted.get("deleted"), Some(&json!(true)));
    assert_eq!(deleted.get("uri"), outputs["write_it"].get("uri"));
    let size = json!({"id": "size", "type": "storage.Size", "uri": "{{ outputs.write_it.uri }}"});
    assert!(run(&services, size, &outputs, None).await.is_err());
}

#[tokio::test]
async fn state_merges_per_flow_and_loop_value() {
    let services = TaskServices::in_memory();
    let none = json!({});
    let first = json!({"id": "set", "type": "state.Set", "data": {"a": 1, "list": [1]}});
    let set = run(&services, first, &none, Some("item"))
        .await
        .expect("set");
    assert_eq!(set.get("count"), Some(&json!(2)));
    let key = set["key"].as_str().expect("a key");
    let hash = peregrine_ports::storage::hash_to_string("item");
    assert_eq!(key, format!("my-flow_states_tasks-states_default_{hash}"));

    let second =
        json!({"id": "set", "type": "state.Set", "data": {"b": "{{ flow.id }}", "list": [2]}});
    run(&services, second, &none, Some("item"))
        .await
        .expect("merge");
    let get = json!({"id": "get", "type": "state.Get"});
    let got = run(&services, get.clone(), &none, Some("item"))
        .await
        .expect("get");
    assert_eq!(
        got.get("data"),
        Some(&json!({"a": 1, "list": [1, 2], "b": "my_flow"}))
    );
    assert_eq!(got.get("count"), Some(&json!(3)));
    let other_value = run(&services, get, &none, Some("other"))
        .await
        .expect("get");
    assert_eq!(other_value.get("count"), Some(&json!(0)));

    let delete = json!({"id": "delete", "type": "state.Delete", "errorOnMissing": true});
    let deleted = run(&services, delete.clone(), &none, Some("item"))
        .await
        .expect("delete");
    assert_eq!(deleted.get("deleted"), Some(&json!(true)));
    assert!(run(&services, delete, &none, Some("item")).await.is_err());
}

#[tokio::test]
async fn secrets_come_from_base64_environment_variables() {
    let services = TaskServices {
        // "aHVudGVyMg==" is base64 for "hunter2".
        secrets: Arc::new(EnvSecrets::from_vars([(
            "SECRET_DB_PASSWORD",
            "aHVudGVyMg==",
        )])),
        ..TaskServices::in_memory()
    };
    let task: Task = serde_json::from_value(
        json!({"id": "t", "type": "io.kestra.plugin.core.log.Log", "message": "x"}),
    )
    .expect("a task");
    let task_run = serde_json::from_value(json!({
        "id": "run1", "executionId": "exec1", "namespace": "company.team", "flowId": "f",
        "taskId": "t", "state": {"current": "RUNNING", "histories": []},
    }))
    .expect("a task run");
    let context = RunContext::new(
        task_run,
        task,
        json!({}),
        1,
        Arc::new(Pebble),
        Arc::new(NoLogs),
        services,
    );
    assert_eq!(
        context.secret("db_password").await,
        Ok("hunter2".to_string())
    );
    assert!(context.secret("missing").await.is_err());
}
