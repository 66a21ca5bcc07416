//! Every role in a process of its own on one database (PostgreSQL, then MariaDB): two
//! executors (one holds the lease, the other stands by), a worker, two schedulers and a
//! webserver. Everything a user does goes through the webserver's API: flows saved there reach
//! the executor and the schedulers, commands (start, resume, kill, restart, replay, labels)
//! reach the executor through the database, answers (`?wait=true`, follow) come from the
//! database, the schedulers fire each slot once and one carries on when the other is killed,
//! and the standby executor carries on once the active one is killed.

mod common;

use std::time::{Duration, Instant};

use common::executions::{get, wait_for};
use common::recovery::{post_flow, read_json, state, terminal};
use common::{Server, agent, services};
use serde_json::Value;

const HELLO: &str = "id: hello
namespace: split.test
inputs:
  - id: name
    type: STRING
    defaults: world
tasks:
  - id: greet
    type: io.kestra.plugin.core.debug.Return
    format: 'hello {{ inputs.name }}'
";

const PAUSE: &str = "id: ask
namespace: split.test
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    onResume:
      - id: answer
        type: INT
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: 'got {{ outputs.wait.onResume.answer }}'
";

const NAP: &str = "id: nap
namespace: split.test
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT30S
";

const TICK: &str = "id: tick
namespace: split.test
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: 'tick {{ trigger.date }}'
triggers:
  - id: every-second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: '* * * * * *'
    withSeconds: true
";

/// Posts a multipart form of text fields to `path`; answers the status and the JSON body.
fn post_form(
    agent: &ureq::Agent,
    web: &Server,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let boundary = "split-roles";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let response = agent
        .post(web.url(path))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body)
        .expect("posted");
    read_json(response)
}

fn post(agent: &ureq::Agent, web: &Server, path: &str, json: &str) -> (u16, Value) {
    let response = agent
        .post(web.url(path))
        .header("Content-Type", "application/json")
        .send(json)
        .expect("posted");
    read_json(response)
}

fn id_of(execution: &Value) -> String {
    execution["id"].as_str().unwrap_or_default().to_string()
}

/// The output `value` of the execution's task run `task`.
fn value_of(execution: &Value, task: &str) -> Value {
    execution["taskRunList"]
        .as_array()
        .and_then(|runs| runs.iter().find(|run| run["taskId"] == task))
        .map(|run| run["outputs"]["value"].clone())
        .unwrap_or(Value::Null)
}

fn ended(execution: &Value) -> bool {
    terminal(execution)
}

fn roles_on(service: &str) {
    let name = format!("split_roles_{service}_{}", std::process::id());
    let shared = services::Shared::database(service, &name);
    let variables = shared.variables("3s", "500ms");
    let agent = agent();
    let mut active = Server::role("executor", &variables);
    let standby = Server::role_later("executor", &variables);
    let _worker = Server::worker(&variables);
    let first_scheduler = Server::role("scheduler", &variables);
    let _second_scheduler = Server::role("scheduler", &variables);
    let web = Server::role("webserver", &variables);

    // A flow saved through the webserver runs at once, and `?wait=true` answers its end.
    post_flow(&agent, &web, HELLO);
    let path = "/api/v1/executions/split.test/hello?wait=true";
    let (status, done) = post_form(&agent, &web, path, &[("name", "peregrine")]);
    assert_eq!(status, 200, "{done}");
    assert_eq!(state(&done), "SUCCESS", "{done}");
    assert_eq!(value_of(&done, "greet"), "hello peregrine", "{done}");
    let first = id_of(&done);

    // Inputs are typed by the webserver: a bad value is refused before anything starts.
    post_flow(&agent, &web, PAUSE);
    let (status, paused) = post_form(&agent, &web, "/api/v1/executions/split.test/ask", &[]);
    assert_eq!(status, 200, "{paused}");
    let paused = id_of(&paused);
    wait_for(&agent, &web, &paused, |execution| {
        state(execution) == "PAUSED"
    });
    let resume = format!("/api/v1/executions/{paused}/resume");
    let (status, refused) = post_form(&agent, &web, &resume, &[("answer", "many")]);
    assert_eq!(status, 422, "{refused}");
    let (status, body) = post_form(&agent, &web, &resume, &[("answer", "42")]);
    assert_eq!(status, 204, "{body}");
    let resumed = wait_for(&agent, &web, &paused, ended);
    assert_eq!(state(&resumed), "SUCCESS", "{resumed}");
    assert_eq!(value_of(&resumed, "after"), "got 42", "{resumed}");

    // Kill, then restart, through the database.
    post_flow(&agent, &web, NAP);
    let (_, napping) = post_form(&agent, &web, "/api/v1/executions/split.test/nap", &[]);
    let napping = id_of(&napping);
    wait_for(&agent, &web, &napping, |execution| {
        execution["taskRunList"][0]["state"]["current"] == "RUNNING"
    });
    let response = agent
        .delete(web.url(&format!("/api/v1/executions/{napping}/kill")))
        .call()
        .expect("kill");
    assert_eq!(response.status().as_u16(), 202);
    let killed = wait_for(&agent, &web, &napping, ended);
    assert_eq!(state(&killed), "KILLED", "{killed}");
    let (status, restarted) = post(
        &agent,
        &web,
        &format!("/api/v1/executions/{napping}/restart"),
        "",
    );
    assert_eq!(status, 200, "{restarted}");
    assert!(!terminal(&restarted), "{restarted}");
    wait_for(&agent, &web, &napping, |execution| {
        state(execution) == "RUNNING"
    });

    // Replay and labels on an ended execution.
    let (status, replay) = post(
        &agent,
        &web,
        &format!("/api/v1/executions/{first}/replay"),
        "",
    );
    assert_eq!(status, 200, "{replay}");
    let replayed = wait_for(&agent, &web, &id_of(&replay), ended);
    assert_eq!(
        value_of(&replayed, "greet"),
        "hello peregrine",
        "{replayed}"
    );
    let labels = r#"[{"key":"team","value":"data"}]"#;
    let (status, labelled) = post(
        &agent,
        &web,
        &format!("/api/v1/executions/{first}/labels"),
        labels,
    );
    assert_eq!(status, 200, "{labelled}");
    let team = get(&agent, &web, &first)["labels"]
        .as_array()
        .is_some_and(|labels| {
            labels
                .iter()
                .any(|label| label["key"] == "team" && label["value"] == "data")
        });
    assert!(team, "{labelled}");

    // A new revision saved through the webserver is the one the next start runs.
    let response = agent
        .put(web.url("/api/v1/flows/split.test/hello"))
        .header("Content-Type", "application/x-yaml")
        .send(&HELLO.replace("'hello {{", "'hello again {{"))
        .expect("flow updated");
    assert_eq!(response.status().as_u16(), 200);
    let (_, again) = post_form(&agent, &web, path, &[("name", "you")]);
    assert_eq!(value_of(&again, "greet"), "hello again you", "{again}");
    assert_eq!(again["flowRevision"], 2, "{again}");

    // Two schedulers of their own fire each second-slot once; when one dies (holding a claim
    // or not), the other carries on.
    post_flow(&agent, &web, TICK);
    let succeeded = |at_least: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let url =
                web.url("/api/v1/executions/search?namespace=split.test&flowId=tick&size=100");
            let (_, found) = read_json(agent.get(url).call().expect("search"));
            let ticks = found["results"].as_array().cloned().unwrap_or_default();
            if ticks.iter().filter(|tick| state(tick) == "SUCCESS").count() >= at_least {
                break ticks;
            }
            assert!(Instant::now() < deadline, "{found}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let before = succeeded(3).len();
    first_scheduler.kill();
    let ticks = succeeded(before + 3);
    let mut slots: Vec<String> = ticks
        .iter()
        .map(|tick| tick["trigger"]["variables"]["date"].to_string())
        .collect();
    let fired = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), fired, "a slot fired twice: {slots:?}");

    // The active executor dies: the standby takes over, and the API carries on.
    let _ = active.child.kill();
    let _ = active.child.wait();
    let _standby = standby.ready();
    let (status, after) = post_form(&agent, &web, path, &[("name", "standby")]);
    assert_eq!(status, 200, "{after}");
    let after = wait_for(&agent, &web, &id_of(&after), ended);
    assert_eq!(value_of(&after, "greet"), "hello again standby", "{after}");
}

#[test]
fn every_role_in_a_process_of_its_own_on_postgres() {
    roles_on("postgres");
}

#[test]
fn every_role_in_a_process_of_its_own_on_mariadb() {
    roles_on("mariadb");
}

#[test]
fn a_webserver_of_its_own_needs_a_shared_database() {
    let folder = tempfile::tempdir().expect("a folder");
    let path = folder.path().join("peregrine.db");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_peregrine"))
        .args(["server", "webserver", "--port", "0"])
        .env("DATASOURCES_SQLITE_PATH", &path)
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("kestra.repository.type"), "{stderr}");
}
