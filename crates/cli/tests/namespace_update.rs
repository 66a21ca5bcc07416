//! `peregrine flow namespace update` against a real server: a folder deployed in one request,
//! flows absent from the folder deleted, an invalid folder refused whole with its line.

mod common;

use std::process::Command;

use common::{Server, agent};

fn flow(id: &str) -> String {
    format!(
        "id: {id}\nnamespace: company.team\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
}

fn update(server: &Server, folder: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_peregrine"))
        .args(["flow", "namespace", "update", "company.team"])
        .arg(folder)
        .args(["--server", &server.base])
        .args(extra)
        .output()
        .expect("the command runs")
}

fn flow_ids(server: &Server) -> Vec<String> {
    let text = agent()
        .get(format!("{}/api/v1/flows/company.team", server.base))
        .call()
        .expect("listed")
        .into_body()
        .read_to_string()
        .expect("text");
    let flows: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut ids: Vec<String> = flows
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|flow| flow["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_folder_is_deployed_and_absent_flows_deleted() {
    let server = Server::start(&["--memory".as_ref()]);
    let folder = tempfile::tempdir().expect("folder");
    std::fs::create_dir(folder.path().join("nested")).expect("nested");
    std::fs::write(folder.path().join("a.yml"), flow("a")).expect("a");
    std::fs::write(folder.path().join("nested/b.yaml"), flow("b")).expect("b");
    let output = update(&server, folder.path(), &[]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("2 flow(s)"),
        "{output:?}"
    );
    assert_eq!(flow_ids(&server), vec!["a", "b"]);

    std::fs::remove_file(folder.path().join("nested/b.yaml")).expect("removed");
    std::fs::write(folder.path().join("c.yml"), flow("c")).expect("c");
    let output = update(&server, folder.path(), &["--no-delete"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(flow_ids(&server), vec!["a", "b", "c"]);
    let output = update(&server, folder.path(), &[]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(flow_ids(&server), vec!["a", "c"]);

    std::fs::write(
        folder.path().join("d.yml"),
        flow("d").replace("message", "mesage"),
    )
    .expect("d");
    let output = update(&server, folder.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(errors.contains("mesage"), "{errors}");
    assert_eq!(
        flow_ids(&server),
        vec!["a", "c"],
        "nothing changes when one flow is invalid"
    );
}
