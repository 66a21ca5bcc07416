//! Files sent with a start or a resume, and webhook calls, against the runtime.

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_ports::repository::{
    Error, ExecutionCommands, FlowRepository, InputFile, StartRequest, WebhookCall, WebhookOutcome,
};
use serde_json::{Value, json};

use super::RuntimeCommands;
use crate::backends::Backends;
use crate::runtime::LocalRuntime;
use crate::server::RuntimeFlows;

const FILES: &str = "id: files
namespace: company.team
inputs:
  - id: file
    type: FILE
  - id: upload
    type: FILE
    required: false
    extension: csv
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: \"{{ read(inputs.file) }}\"
";

const PAUSED: &str = "id: paused
namespace: company.team
tasks:
  - id: ask
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: asked
        type: INT
      - id: data
        type: FILE
        required: false
";

const HOOKS: &str = "id: hooks
namespace: company.team
labels:
  team: data
tasks:
  - id: out
    type: io.kestra.plugin.core.debug.Return
    format: \"{{ trigger.body.a ?? 'none' }}\"
triggers:
  - id: literal
    type: io.kestra.plugin.core.trigger.Webhook
    key: a-secret-key
  - id: rendered
    type: io.kestra.plugin.core.trigger.Webhook
    key: \"{{ flow.id }}-key\"
  - id: off
    type: io.kestra.plugin.core.trigger.Webhook
    key: off-key
    disabled: true
  - id: guarded
    type: io.kestra.plugin.core.trigger.Webhook
    key: guarded-key
    conditions:
      - type: io.kestra.plugin.core.condition.ExpressionCondition
        expression: \"{{ trigger.body.hello == 'world' }}\"
";

struct Fixture {
    commands: RuntimeCommands,
    runtime: LocalRuntime,
    storage: Arc<dyn peregrine_ports::storage::Storage>,
}

async fn fixture(sources: &[&str]) -> Fixture {
    let registry = Arc::new(crate::catalogue());
    let backends = Backends::memory();
    let options = backends.runtime_options();
    let storage = options.services.storage.clone();
    let runtime = LocalRuntime::start_with(registry.clone(), options.clone());
    let flows = Arc::new(RuntimeFlows::new(registry, runtime.clone(), backends.flows));
    for source in sources {
        let id = source
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("id: "))
            .unwrap_or_default();
        flows
            .save(
                "company.team",
                id,
                source.to_string(),
                jiff::Timestamp::now(),
            )
            .await
            .expect("a valid flow");
    }
    Fixture {
        commands: RuntimeCommands::new(runtime.clone(), flows).with_options(&options),
        runtime,
        storage,
    }
}

async fn ended(runtime: &LocalRuntime, id: &str) -> Execution {
    runtime
        .wait_for(id, Duration::from_secs(10), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("the execution ends")
}

fn file(input: &str, file_name: &str, text: &str) -> InputFile {
    InputFile {
        input: input.into(),
        file_name: file_name.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn files_are_stored_under_the_execution_and_read_by_tasks() {
    let Fixture {
        commands, runtime, ..
    } = fixture(&[FILES]).await;
    let request = StartRequest {
        namespace: "company.team".into(),
        flow_id: "files".into(),
        files: vec![
            file("file", "data.txt", "hello file"),
            file("upload", "", "a,b"),
            file("unknown", "x.txt", "dropped"),
        ],
        ..StartRequest::default()
    };
    let started = commands.start(request).await.expect("started");
    let prefix = format!(
        "kestra:///company/team/files/executions/{}/inputs",
        started.id
    );
    let inputs = Value::Object(started.inputs.clone().unwrap_or_default());
    assert_eq!(
        inputs,
        json!({
            "file": format!("{prefix}/file/data.txt"),
            "upload": format!("{prefix}/upload/upload.csv"),
        })
    );
    let execution = ended(&runtime, &started.id).await;
    assert_eq!(execution.state.current, State::Success);
    let outputs = execution.task_run_list[0]
        .outputs
        .clone()
        .unwrap_or_default();
    assert_eq!(outputs.get("value"), Some(&json!("hello file")));
}

#[tokio::test]
async fn file_inputs_refuse_plain_text_and_failed_starts_leave_no_file() {
    let Fixture {
        commands, storage, ..
    } = fixture(&[FILES]).await;
    let request = StartRequest {
        namespace: "company.team".into(),
        flow_id: "files".into(),
        inputs: json!({"file": "/etc/passwd"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..StartRequest::default()
    };
    let refused = commands.start(request).await;
    assert!(
        matches!(&refused, Err(Error::Invalid(message)) if message.contains("Invalid input for `file`")),
        "{refused:?}"
    );
    // A file for an optional input, the required one missing: nothing stays stored.
    let request = StartRequest {
        namespace: "company.team".into(),
        flow_id: "files".into(),
        files: vec![file("upload", "a.csv", "a,b")],
        ..StartRequest::default()
    };
    assert!(matches!(
        commands.start(request).await,
        Err(Error::Invalid(_))
    ));
    let prefix = peregrine_ports::storage::flow_prefix("company.team", "files").expect("a path");
    assert_eq!(storage.list(&prefix).await.map(|files| files.len()), Ok(0));
}

#[tokio::test]
async fn resume_types_on_resume_inputs_and_stores_their_files() {
    let Fixture {
        commands,
        runtime,
        storage,
    } = fixture(&[PAUSED]).await;
    let request = StartRequest {
        namespace: "company.team".into(),
        flow_id: "paused".into(),
        ..StartRequest::default()
    };
    let id = commands.start(request).await.expect("started").id;
    runtime
        .wait_for(&id, Duration::from_secs(10), |execution| {
            execution.state.current == State::Paused
        })
        .await
        .expect("paused");
    let missing = commands.resume(&id, None).await;
    assert!(
        matches!(&missing, Err(Error::Invalid(message)) if message.contains("Invalid input for `asked`, missing required input, but received `null`")),
        "{missing:?}"
    );
    let inputs = json!({"asked": "42"}).as_object().cloned();
    commands
        .resume_with_files(&id, inputs, vec![file("data", "", &id)])
        .await
        .expect("resumed");
    let execution = ended(&runtime, &id).await;
    let outputs = execution.task_run_list[0]
        .outputs
        .clone()
        .unwrap_or_default();
    let on_resume = outputs.get("onResume").cloned().unwrap_or_default();
    assert_eq!(on_resume["asked"], json!(42));
    let uri = on_resume["data"].as_str().unwrap_or_default();
    let path = peregrine_ports::storage::StoragePath::from_uri(uri).expect("a kestra URI");
    assert_eq!(storage.get(&path).await, Ok(id.into_bytes()));
}

fn call(key: &str, body: Option<&str>) -> WebhookCall {
    WebhookCall {
        namespace: "company.team".into(),
        flow_id: "hooks".into(),
        key: key.into(),
        body: body.map(str::to_string),
        headers: vec![("x-token".into(), "t".into())],
        parameters: vec![
            ("name".into(), "john".into()),
            ("age".into(), "12".into()),
            ("age".into(), "13".into()),
        ],
    }
}

/// The execution a webhook call started, and whether the trigger waits.
fn started(outcome: Result<WebhookOutcome, Error>) -> (Box<Execution>, bool) {
    let started = match outcome {
        Ok(WebhookOutcome::Started {
            execution, wait, ..
        }) => Some((execution, wait)),
        _ => None,
    };
    started.expect("an execution started")
}

#[tokio::test]
async fn webhooks_start_executions_with_the_request_as_trigger_variables() {
    let Fixture {
        commands, runtime, ..
    } = fixture(&[HOOKS]).await;
    let (execution, wait) = started(
        commands
            .webhook(call("a-secret-key", Some(r#"{"a": 1, "b": true}"#)))
            .await,
    );
    assert!(!wait);
    let trigger = execution.trigger.clone().expect("a trigger");
    assert_eq!(
        (trigger.id.as_str(), trigger.type_name.as_str()),
        ("literal", "io.kestra.plugin.core.trigger.Webhook")
    );
    assert_eq!(
        Value::Object(trigger.variables.unwrap_or_default()),
        json!({
            "body": {"a": 1, "b": true},
            "headers": {"x-token": ["t"]},
            "parameters": {"name": ["john"], "age": ["12", "13"]},
        })
    );
    assert!(
        execution
            .labels
            .iter()
            .any(|label| label.key == "team" && label.value == "data")
    );
    let ended = ended(&runtime, &execution.id).await;
    let outputs = ended.task_run_list[0].outputs.clone().unwrap_or_default();
    assert_eq!(outputs.get("value"), Some(&json!("1")));

    // Bodies that are not JSON objects or lists stay text; no body is null.
    for (body, expected) in [
        (Some("[1]"), json!([1])),
        (Some("bla"), json!("bla")),
        (Some("12"), json!("12")),
        (None, Value::Null),
    ] {
        let (execution, _) = started(commands.webhook(call("hooks-key", body)).await);
        let variables = execution.trigger.and_then(|trigger| trigger.variables);
        assert_eq!(
            variables.and_then(|mut map| map.remove("body")),
            Some(expected)
        );
    }
}

#[tokio::test]
async fn webhooks_refuse_unknown_keys_and_disabled_triggers_and_test_conditions() {
    let Fixture { commands, .. } = fixture(&[HOOKS]).await;
    let unknown = commands.webhook(call("nope", None)).await;
    assert!(
        matches!(
            unknown,
            Err(Error::NotFound {
                what: "webhook",
                ..
            })
        ),
        "{unknown:?}"
    );
    let no_flow = WebhookCall {
        flow_id: "missing".into(),
        ..call("a-secret-key", None)
    };
    assert!(matches!(
        commands.webhook(no_flow).await,
        Err(Error::NotFound { what: "flow", .. })
    ));
    assert!(matches!(
        commands.webhook(call("off-key", None)).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        commands
            .webhook(call("guarded-key", Some(r#"{"hello": "webhook"}"#)))
            .await,
        Ok(WebhookOutcome::Skipped)
    );
    assert!(matches!(
        commands
            .webhook(call("guarded-key", Some(r#"{"hello": "world"}"#)))
            .await,
        Ok(WebhookOutcome::Started { .. })
    ));
}
