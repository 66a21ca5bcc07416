//! templating.TemplatedTask: the rendered spec runs as the task it defines.

mod support;

use std::sync::Arc;

use peregrine_plugin_api::{Runners, TaskError, TaskServices};
use serde_json::json;
use support::http_server::Server;

#[tokio::test]
async fn the_rendered_definition_runs_in_its_place() {
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "templated",
        "type": "templating.TemplatedTask",
        "spec": "type: io.kestra.plugin.core.debug.Return\nformat: \"hello {{ inputs.name }}\"\n",
    });
    let context = support::context(&services, task, json!({"name": "world"}), Arc::default());
    let outputs = support::run_in(&context).await.expect("outputs");
    assert_eq!(outputs["value"], json!("hello world"));
}

#[tokio::test]
async fn an_aliased_type_and_templated_property_names_are_read() {
    let server = Server::start();
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "templated",
        "type": "templating.TemplatedTask",
        "spec": "type: io.kestra.plugin.fs.http.Download\n{{ inputs.property }}: {{ inputs.value }}\n",
    });
    let inputs = json!({"property": "uri", "value": server.url("/data/orders.csv")});
    let context = support::context(&services, task, inputs, Arc::default());
    let outputs = support::run_in(&context).await.expect("a download");
    assert_eq!(outputs["length"], json!(19));
    let uri = outputs["uri"].as_str().unwrap_or_default();
    assert!(uri.contains("/tasks/templated/run1/"), "{uri}");
}

#[tokio::test]
async fn the_worker_runners_are_used_when_given() {
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "templated",
        "type": "templating.TemplatedTask",
        "spec": "type: io.kestra.plugin.core.debug.Return\nformat: x\n",
    });
    let context = support::context(&services, task, json!({}), Arc::default())
        .with_runners(Arc::new(Runners::default()));
    assert_eq!(
        support::run_in(&context).await,
        Err(TaskError::Unsupported(
            "io.kestra.plugin.core.debug.Return".into()
        ))
    );
}

#[tokio::test]
async fn invalid_definitions_fail() {
    let services = TaskServices::in_memory();
    for spec in [
        "type: io.kestra.plugin.core.templating.TemplatedTask\nspec: x\n",
        "type: io.kestra.plugin.core.flow.Sequential\ntasks: []\n",
        "type: io.kestra.plugin.core.debug.Return\nformt: x\n",
        "just text",
        "type: io.kestra.plugin.core.debug.Return\nformat: [unclosed\n",
    ] {
        let task = json!({"id": "t", "type": "templating.TemplatedTask", "spec": spec});
        let result = support::run(&services, task).await;
        assert!(
            matches!(result, Err(TaskError::Property { .. })),
            "{spec}: {result:?}"
        );
    }
}
