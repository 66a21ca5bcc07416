//! The REST API of the node over SQLite, end to end: a real listener, HTTP/1.1 requests, the
//! runtime and the store behind them. Replay, execution labels, the key-value store and
//! namespaces.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_model::state::State;
use peregrine_ports::memory::MemoryStorage;
use peregrine_ports::repository::{ExecutionCommands, FlowRepository};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::LocalServices;
use crate::backends::Backends;

const TWO_STEPS: &str = "id: two_steps
namespace: company.team
labels:
  team: data
tasks:
  - id: first
    type: io.kestra.plugin.core.output.OutputValues
    values:
      x: one
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: second
        type: io.kestra.plugin.core.log.Log
        message: \"{{ outputs.first.values.x }}\"
  - id: third
    type: io.kestra.plugin.core.log.Log
    message: done
";

const PAUSED: &str = "id: paused
namespace: company.team.sub
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
";

/// A server on SQLite in a fresh folder, removed when dropped.
pub(super) struct Server {
    pub(super) services: LocalServices,
    pub(super) address: SocketAddr,
    stop: CancellationToken,
    folder: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

pub(super) async fn server() -> Server {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let folder = std::env::temp_dir().join(format!("peregrine-api-{}-{nanos}", std::process::id()));
    let store = peregrine_store_sqlite::SqliteStore::open(
        folder.join("peregrine.db"),
        peregrine_store_sqlite::Durability::Process,
    )
    .expect("a database");
    let store = Arc::new(store);
    let backends = Backends {
        store: store.clone(),
        flows: store.clone(),
        storage: Arc::new(MemoryStorage::new()),
        triggers: store,
        // Ended executions leave the executor at once and the list soon after: reads and changes
        // go through the store.
        keep_finished: 1,
        worker_slots: 4,
        queue: None,
        lease: None,
        partition_leases: None,
        partitions: None,
        retention: crate::config::RetentionConfig::default(),
        description: "test".into(),
    };
    let (services, _) = LocalServices::open(Arc::new(crate::catalogue()), &backends)
        .await
        .expect("the backends open");
    for (id, source) in [("two_steps", TWO_STEPS), ("paused", PAUSED)] {
        let namespace = if id == "paused" {
            "company.team.sub"
        } else {
            "company.team"
        };
        services
            .flows
            .save(namespace, id, source.into(), jiff::Timestamp::now())
            .await
            .expect("a valid flow");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let stop = CancellationToken::new();
    tokio::spawn(services.webserver().run(listener, stop.clone()));
    Server {
        services,
        address,
        stop,
        folder,
    }
}

/// One HTTP/1.1 request; the status and the JSON answer (`Null` when empty).
pub(super) async fn call(server: &Server, method: &str, path: &str, body: &str) -> (u16, Value) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let address = server.address;
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connected");
        stream.write_all(request.as_bytes()).expect("sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("an answer");
        answer
    })
    .await
    .expect("the request ran");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
    };
    (status, value)
}

/// The stored execution once `done` holds, within ten seconds.
pub(super) async fn stored_when(server: &Server, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, execution) =
            call(server, "GET", &format!("/api/v1/executions/{id}"), "").await;
        if status == 200 && done(&execution) {
            return execution;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never got there: {execution}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(super) fn ended(execution: &Value) -> bool {
    matches!(
        execution["state"]["current"].as_str(),
        Some("SUCCESS" | "FAILED" | "WARNING" | "KILLED" | "CANCELLED")
    )
}

/// Runs `two_steps` to its end and returns it as stored.
async fn ran(server: &Server) -> Value {
    let request = peregrine_ports::repository::StartRequest {
        namespace: "company.team".into(),
        flow_id: "two_steps".into(),
        ..Default::default()
    };
    let started = server
        .services
        .commands
        .start(request)
        .await
        .expect("started");
    let execution = stored_when(server, &started.id, ended).await;
    assert_eq!(execution["state"]["current"], "SUCCESS");
    execution
}

fn states(execution: &Value) -> Vec<String> {
    execution["state"]["histories"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry["state"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_is_replayed_from_a_task_run_into_a_new_committed_execution() {
    let server = server().await;
    let old = ran(&server).await;
    let old_id = old["id"].as_str().expect("an id");
    assert_eq!(old["taskRunList"][2]["taskId"], "second");
    let second = old["taskRunList"][2]["id"].as_str().expect("a task run");
    let first_outputs = old["taskRunList"][0]["outputs"].clone();

    let path = format!("/api/v1/executions/{old_id}/replay?taskRunId={second}");
    let (status, replay) = call(&server, "POST", &path, "").await;
    assert_eq!(status, 200, "{replay}");
    let new_id = replay["id"].as_str().expect("an id").to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(replay["originalId"], old_id);
    assert_eq!(replay["parentId"], old_id);
    assert_eq!(replay["state"]["current"], "RESTARTED");
    assert_eq!(replay["metadata"]["attemptNumber"], 2);
    assert_eq!(replay["taskRunList"][0]["taskId"], "first");
    assert_eq!(replay["taskRunList"][0]["outputs"], first_outputs);
    assert_ne!(replay["taskRunList"][0]["id"], old["taskRunList"][0]["id"]);
    assert_eq!(replay["taskRunList"][1]["taskId"], "group");
    assert_eq!(replay["taskRunList"][1]["state"]["current"], "RUNNING");
    assert_eq!(replay["taskRunList"][2]["state"]["current"], "RESTARTED");
    assert_eq!(
        replay["taskRunList"][2]["parentTaskRunId"],
        replay["taskRunList"][1]["id"]
    );
    assert_eq!(replay["taskRunList"].as_array().map(Vec::len), Some(3));
    assert_eq!(replay["labels"], old["labels"]);
    // Committed before it was answered.
    let stored = server.services.runtime.store().get(&new_id).await;
    assert!(matches!(stored, Ok(Some(_))), "{stored:?}");

    let done = stored_when(&server, &new_id, ended).await;
    assert_eq!(done["state"]["current"], "SUCCESS", "{done}");
    let history = states(&done);
    assert_eq!(
        history[history.len() - 3..],
        ["RESTARTED", "RUNNING", "SUCCESS"],
        "{history:?}"
    );
    let runs = done["taskRunList"].as_array().expect("task runs");
    let tasks: Vec<&str> = runs
        .iter()
        .filter_map(|run| run["taskId"].as_str())
        .collect();
    assert_eq!(tasks, ["first", "group", "second", "third"], "{done}");
    assert!(
        runs.iter().all(|run| run["state"]["current"] == "SUCCESS"),
        "{done}"
    );
    assert_eq!(states(&runs[0]).len(), states(&old["taskRunList"][0]).len());
    assert!(states(&runs[2]).contains(&"RESTARTED".to_string()));
    // The old execution is unchanged.
    let (_, again) = call(&server, "GET", &format!("/api/v1/executions/{old_id}"), "").await;
    assert_eq!(again["state"], old["state"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_is_replayed_from_the_start_and_bad_replays_are_refused() {
    let server = server().await;
    let old = ran(&server).await;
    let old_id = old["id"].as_str().expect("an id");
    let (status, replay) = call(
        &server,
        "POST",
        &format!("/api/v1/executions/{old_id}/replay"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{replay}");
    let new_id = replay["id"].as_str().expect("an id");
    assert_eq!(replay["originalId"], old_id);
    let done = stored_when(&server, new_id, ended).await;
    assert_eq!(done["state"]["current"], "SUCCESS");
    assert_eq!(states(&done)[0], "CREATED");
    assert_eq!(done["taskRunList"].as_array().map(Vec::len), Some(4));
    assert_ne!(done["taskRunList"][0]["id"], old["taskRunList"][0]["id"]);
    assert_eq!(done["metadata"]["attemptNumber"], 2);

    let cases = [
        (
            format!("/api/v1/executions/{old_id}/replay?taskRunId=nope"),
            422,
            "taskRunId",
        ),
        (
            format!("/api/v1/executions/{old_id}/replay?revision=7"),
            404,
            "revision 7",
        ),
        (
            "/api/v1/executions/missing/replay".to_string(),
            404,
            "missing",
        ),
    ];
    for (path, expected, named) in cases {
        let (status, error) = call(&server, "POST", &path, "").await;
        assert_eq!(status, expected, "{path}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{path}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_runs_the_revision_the_execution_ran_unless_another_is_asked() {
    let server = server().await;
    let old = ran(&server).await;
    let old_id = old["id"].as_str().expect("an id");
    let changed = "id: two_steps\nnamespace: company.team\ntasks:\n  - id: other\n    type: io.kestra.plugin.core.debug.Return\n    format: two\n";
    let saved = server
        .services
        .flows
        .save(
            "company.team",
            "two_steps",
            changed.into(),
            jiff::Timestamp::now(),
        )
        .await
        .expect("a valid flow");
    assert_eq!(saved.revision, 2);
    let task_ids = |execution: &Value| -> Vec<String> {
        execution["taskRunList"]
            .as_array()
            .map(|runs| {
                runs.iter()
                    .filter_map(|run| run["taskId"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (query, revision) in [("", 1), ("?revision=2", 2)] {
        let path = format!("/api/v1/executions/{old_id}/replay{query}");
        let (status, replay) = call(&server, "POST", &path, "").await;
        assert_eq!(status, 200, "{path}: {replay}");
        let new_id = replay["id"].as_str().expect("an id");
        let done = stored_when(&server, new_id, ended).await;
        assert_eq!(done["state"]["current"], "SUCCESS", "{path}");
        assert_eq!(done["flowRevision"], revision, "{path}");
        let expected = if revision == 1 {
            task_ids(&old)
        } else {
            vec!["other".to_string()]
        };
        assert_eq!(task_ids(&done), expected, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_of_an_ended_execution_are_replaced_through_the_executor() {
    let server = server().await;
    let old = ran(&server).await;
    let id = old["id"].as_str().expect("an id");
    let path = format!("/api/v1/executions/{id}/labels");
    let (status, execution) = call(
        &server,
        "POST",
        &path,
        r#"[{"key": "env", "value": "prod"}, {"key": "owner", "value": "me"}]"#,
    )
    .await;
    assert_eq!(status, 200, "{execution}");
    let expected = json!([
        { "key": "system.correlationId", "value": id },
        { "key": "env", "value": "prod" },
        { "key": "owner", "value": "me" }
    ]);
    assert_eq!(execution["labels"], expected);
    let stored = server
        .services
        .runtime
        .store()
        .get(id)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(serde_json::to_value(&stored.labels).ok(), Some(expected));
    assert_eq!(stored.state.current, State::Success);

    let body =
        json!({ "executionsId": [id], "executionLabels": [{ "key": "env", "value": "dev" }] });
    let (status, answer) = call(
        &server,
        "POST",
        "/api/v1/executions/labels/by-ids",
        &body.to_string(),
    )
    .await;
    assert_eq!((status, answer), (200, json!({ "count": 1 })));
    let (_, execution) = call(&server, "GET", &format!("/api/v1/executions/{id}"), "").await;
    assert_eq!(
        execution["labels"],
        json!([
            { "key": "system.correlationId", "value": id },
            { "key": "env", "value": "dev" },
            { "key": "owner", "value": "me" }
        ])
    );

    let (status, error) = call(
        &server,
        "POST",
        &path,
        r#"[{"key": "system.readOnly", "value": "true"}]"#,
    )
    .await;
    assert_eq!(status, 422, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("system.readOnly")
    );
    let paused = server
        .services
        .commands
        .start(peregrine_ports::repository::StartRequest {
            namespace: "company.team.sub".into(),
            flow_id: "paused".into(),
            ..Default::default()
        })
        .await
        .expect("started");
    stored_when(&server, &paused.id, |execution| {
        execution["state"]["current"] == "PAUSED"
    })
    .await;
    let path = format!("/api/v1/executions/{}/labels", paused.id);
    let (status, error) = call(&server, "POST", &path, "[]").await;
    assert_eq!(status, 400, "{error}");
    // A paused execution replays from the start (a new execution, paused in turn), not from
    // one of its task runs.
    let path = format!("/api/v1/executions/{}/replay", paused.id);
    let (status, replay) = call(&server, "POST", &path, "").await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay["originalId"], paused.id.as_str());
    let new_id = replay["id"].as_str().expect("an id");
    stored_when(&server, new_id, |execution| {
        execution["state"]["current"] == "PAUSED"
    })
    .await;
    let stored = stored_when(&server, &paused.id, |_| true).await;
    let run = stored["taskRunList"][0]["id"].as_str().expect("a task run");
    let path = format!("/api/v1/executions/{}/replay?taskRunId={run}", paused.id);
    let (status, error) = call(&server, "POST", &path, "").await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("only an ended execution can be replayed from a task run"),
        "{error}"
    );
    let (status, _) = call(&server, "POST", "/api/v1/executions/missing/labels", "[]").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_namespaces_are_served() {
    let server = server().await;
    let key = "/api/v1/namespaces/company.team/kv/greeting";
    let (status, _) = call(&server, "PUT", key, r#"{"hello": ["world"]}"#).await;
    assert_eq!(status, 200);
    let (status, value) = call(&server, "GET", key, "").await;
    assert_eq!(
        (status, value),
        (
            200,
            json!({ "type": "JSON", "value": { "hello": ["world"] } })
        )
    );
    let (status, list) = call(&server, "GET", "/api/v1/namespaces/company.team/kv", "").await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["key"], "greeting");
    assert!(list[0]["updateDate"].is_string(), "{list}");
    // Tasks see what the API put: the same store.
    let stored = server
        .services
        .kv
        .get("company.team", "greeting", jiff::Timestamp::now())
        .await;
    assert!(matches!(stored, Ok(Some(_))), "{stored:?}");
    assert_eq!(call(&server, "DELETE", key, "").await, (200, json!(true)));
    let (status, error) = call(&server, "GET", key, "").await;
    assert_eq!(status, 404, "{error}");

    let (status, found) = call(
        &server,
        "GET",
        "/api/v1/namespaces/search?size=2&page=2",
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        found,
        json!({
            "results": [
                { "id": "company.team.sub", "deleted": false, "disabled": true },
                { "id": "system", "deleted": false, "disabled": true }
            ],
            "total": 4
        })
    );
    let (_, found) = call(&server, "GET", "/api/v1/namespaces/search?q=SUB", "").await;
    assert_eq!(found["total"], 1);
    let (status, namespace) = call(&server, "GET", "/api/v1/namespaces/company.team", "").await;
    assert_eq!(
        (status, namespace),
        (200, json!({ "id": "company.team", "deleted": false }))
    );
}

#[tokio::test]
async fn a_flow_with_a_broken_template_is_saved_as_in_kestra_and_fails_when_it_runs() {
    let server = server().await;
    let source = "id: broken\nnamespace: company.team\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ 1 + }}\"\n";
    let (status, checked) = call(&server, "POST", "/api/v1/flows/validate", source).await;
    assert_eq!(status, 200, "{checked}");
    let constraints = checked[0]["constraints"].as_str().unwrap_or_default();
    assert!(constraints.contains("invalid expression"), "{checked}");
    let (status, saved) = call(&server, "POST", "/api/v1/flows", source).await;
    assert_eq!(status, 200, "{saved}");
    let path = "/api/v1/executions/company.team/broken?wait=true";
    let (status, ran) = call(&server, "POST", path, "").await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["state"]["current"], "FAILED", "{ran}");
}
