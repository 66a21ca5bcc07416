//! Namespace files end to end over SQLite: uploaded through the API, listed, read, moved and
//! deleted; a shell task copies the one its `include` selects into its working directory.

use std::io::{Read, Write};

use peregrine_ports::repository::{ExecutionCommands, FlowRepository, StartRequest};
use serde_json::{Value, json};

use super::api_tests::{Server, call, ended, server, stored_when};

const FILES: &str = "/api/v1/namespaces/company.team/files";

const CAT: &str = r#"id: cat_namespace_file
namespace: company.team
tasks:
  - id: cat
    type: io.kestra.plugin.scripts.shell.Commands
    namespaceFiles:
      enabled: true
      include:
        - /config/app.txt
    commands:
      - cat config/app.txt
      - echo "::{\"outputs\":{\"files\":\"$(find . -name '*.txt' | sort | tr '\n' ' ')\"}}::"
"#;

const CAT_IN_DIRECTORY: &str = r#"id: cat_in_directory
namespace: company.team
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    namespaceFiles:
      exclude:
        - other.txt
    tasks:
      - id: cat
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - cat config/app.txt
          - test ! -e other.txt
"#;

/// Runs a stored flow of `company.team` to its end; the execution and its log messages.
async fn run_flow(server: &Server, id: &str, source: &str) -> (Value, Vec<String>) {
    server
        .services
        .flows
        .save("company.team", id, source.into(), jiff::Timestamp::now())
        .await
        .expect("a valid flow");
    let started = server
        .services
        .commands
        .start(StartRequest {
            namespace: "company.team".into(),
            flow_id: id.into(),
            ..Default::default()
        })
        .await
        .expect("started");
    let execution = stored_when(server, &started.id, ended).await;
    let (status, logs) = call(server, "GET", &format!("/api/v1/logs/{}", started.id), "").await;
    assert_eq!(status, 200);
    let messages = logs
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|line| line["message"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (execution, messages)
}

/// Uploads `content` at `path` as the multipart part `fileContent`; the status.
async fn upload(server: &Server, path: &str, content: &str) -> u16 {
    let boundary = "peregrine-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"fileContent\"; \
         filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n\
         --{boundary}--\r\n"
    );
    let request = format!(
        "POST {FILES}?path={path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n{body}",
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
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status")
}

fn names(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|entry| {
                    (
                        entry["fileName"].as_str().unwrap_or_default().to_string(),
                        entry["type"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(name, kind)| (name.to_string(), kind.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_namespace_files_reach_a_shell_task_as_its_include_selects() {
    let server = server().await;
    assert_eq!(
        upload(&server, "/config/app.txt", "from the namespace\n").await,
        200
    );
    assert_eq!(upload(&server, "/other.txt", "left out").await, 200);

    let (status, root) = call(&server, "GET", &format!("{FILES}/directory"), "").await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&root),
        pairs(&[("config", "Directory"), ("other.txt", "File")])
    );
    let (status, content) =
        call(&server, "GET", &format!("{FILES}?path=/config/app.txt"), "").await;
    assert_eq!((status, content), (200, json!("from the namespace\n")));

    let (execution, messages) = run_flow(&server, "cat_namespace_file", CAT).await;
    assert_eq!(execution["state"]["current"], "SUCCESS", "{execution}");
    assert!(
        messages.iter().any(|line| line == "from the namespace"),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|line| line.starts_with("Loaded 1 namespace files from 'company.team'")),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|line| line.contains("left out")),
        "{messages:?}"
    );
    let outputs = &execution["taskRunList"][0]["outputs"];
    assert_eq!(outputs["vars"]["files"], "./config/app.txt ", "{outputs}");

    // WorkingDirectory copies them into the folder its tasks share.
    let (execution, messages) = run_flow(&server, "cat_in_directory", CAT_IN_DIRECTORY).await;
    assert_eq!(
        execution["state"]["current"], "SUCCESS",
        "{execution} {messages:?}"
    );
    assert!(
        messages.iter().any(|line| line == "from the namespace"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_files_are_listed_moved_and_deleted_with_kestras_answers() {
    let server = server().await;
    assert_eq!(upload(&server, "/a/b/one.txt", "1").await, 200);
    assert_eq!(upload(&server, "/a/two.txt", "22").await, 200);

    let (status, stats) = call(
        &server,
        "GET",
        &format!("{FILES}/stats?path=/a/two.txt"),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        stats,
        json!({"fileName": "two.txt", "type": "File", "size": 2, "lastModifiedTime": 0,
               "creationTime": 0, "metadata": {}})
    );
    let (_, stats) = call(&server, "GET", &format!("{FILES}/stats"), "").await;
    assert_eq!(
        (&stats["fileName"], &stats["type"]),
        (&json!("_files"), &json!("Directory"))
    );
    let (_, stats) = call(&server, "GET", &format!("{FILES}/stats?path=/a/b"), "").await;
    assert_eq!(stats["type"], "Directory");

    let (status, error) = call(&server, "GET", &format!("{FILES}?path=/missing.txt"), "").await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(
        error["message"],
        "Not Found: /company/team/_files/missing.txt"
    );
    let (status, error) = call(
        &server,
        "GET",
        &format!("{FILES}/directory?path=/nothing"),
        "",
    )
    .await;
    assert_eq!(status, 404, "{error}");
    let (status, error) = call(&server, "GET", &format!("{FILES}?path=/_flows/x.yml"), "").await;
    assert_eq!(
        (status, error["message"].as_str()),
        (422, Some("Illegal argument: Forbidden path: /_flows/x.yml"))
    );

    // A directory moves with everything below it.
    let (status, _) = call(&server, "PUT", &format!("{FILES}?from=/a&to=/z"), "").await;
    assert_eq!(status, 200);
    let (_, root) = call(&server, "GET", &format!("{FILES}/directory"), "").await;
    assert_eq!(names(&root), pairs(&[("z", "Directory")]));
    let (_, moved) = call(&server, "GET", &format!("{FILES}/directory?path=/z"), "").await;
    assert_eq!(
        names(&moved),
        pairs(&[("b", "Directory"), ("two.txt", "File")])
    );
    let (_, content) = call(&server, "GET", &format!("{FILES}?path=/z/b/one.txt"), "").await;
    assert_eq!(content, json!(1));

    // Deleting a directory's last file takes the directory with it.
    let (status, _) = call(&server, "DELETE", &format!("{FILES}?path=/z/b/one.txt"), "").await;
    assert_eq!(status, 200);
    let (_, listed) = call(&server, "GET", &format!("{FILES}/directory?path=/z"), "").await;
    assert_eq!(names(&listed), pairs(&[("two.txt", "File")]));
    let (status, _) = call(&server, "DELETE", &format!("{FILES}?path=/z"), "").await;
    assert_eq!(status, 200);
    let (status, root) = call(&server, "GET", &format!("{FILES}/directory"), "").await;
    assert_eq!((status, root), (200, json!([])));
}
