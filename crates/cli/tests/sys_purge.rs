//! `peregrine sys purge` on the database of a stopped `server local`: the ended execution, its
//! log lines and its files are gone when the server starts again.

mod common;

use std::process::Command;

use common::recovery::{post_flow, read_json};
use common::{Server, agent};

const FLOW: &str = "id: hello
namespace: purge.test
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: hello
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: some bytes
";

#[test]
fn purge_deletes_ended_executions_with_their_logs_and_files() {
    let data = tempfile::tempdir().expect("a data folder");
    let agent = agent();
    let server = Server::start(&["--data".as_ref(), data.path().as_os_str()]);
    post_flow(&agent, &server, FLOW);
    let boundary = "purge-test";
    let response = agent
        .post(server.url("/api/v1/executions/purge.test/hello?wait=true"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(format!("--{boundary}--\r\n"))
        .expect("execution run");
    let (status, execution) = read_json(response);
    assert_eq!(status, 200, "{execution}");
    assert_eq!(execution["state"]["current"], "SUCCESS", "{execution}");
    let id = execution["id"].as_str().expect("an id").to_string();
    server.kill();

    let database = data.path().join("peregrine.db");
    let storage = data.path().join("storage");
    let purge = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_peregrine"))
            .args(["sys", "purge"])
            .args(args)
            .env("DATASOURCES_SQLITE_PATH", &database)
            .env("KESTRA_STORAGE_LOCAL_BASE_PATH", &storage)
            .output()
            .expect("peregrine runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, text) = purge(&["--older-than", "1d"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(": 0 executions"),
        "nothing is a day old: {text}"
    );
    let (ok, text) = purge(&["--before", "2100-01-01T00:00:00Z"]);
    assert!(ok, "{text}");
    assert!(
        text.contains(": 1 executions")
            && !text.contains(" 0 log lines")
            && text.contains(" 1 files"),
        "{text}"
    );
    let (ok, text) = purge(&[]);
    assert!(!ok && text.contains("--older-than"), "{text}");

    let server = Server::start(&["--data".as_ref(), data.path().as_os_str()]);
    let response = agent
        .get(server.url(&format!("/api/v1/executions/{id}")))
        .call()
        .expect("answered");
    assert_eq!(response.status().as_u16(), 404);
    let response = agent
        .get(server.url(&format!("/api/v1/logs/{id}")))
        .call()
        .expect("answered");
    let (_, lines) = read_json(response);
    assert_eq!(lines, serde_json::json!([]));
    server.kill();
}
