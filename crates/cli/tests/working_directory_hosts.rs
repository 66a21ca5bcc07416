//! A WorkingDirectory whose tasks run on workers of their own on two "hosts" (each worker with
//! a temporary directory of its own, sharing only the database and the internal storage): each
//! task finds the folder as the task before left it (files, directories, modes, links),
//! whichever worker ran that task.

mod common;

use std::time::Duration;

use common::executions::task_runs;
use common::recovery::{executions, post_flow, read_json, state, terminal};
use common::{Server, agent, services};

const EXECUTIONS: usize = 12;

const FLOW: &str = r#"id: hosts
namespace: crash.test
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: write
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - mkdir -p sub/deeper
          - echo "{{ execution.id }}" > sub/deeper/id.txt
          - printf '#!/bin/sh\necho ran\n' > run.sh
          - chmod +x run.sh
          - ln -s /bin/sh shell
      - id: append-1
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - test -f sub/deeper/id.txt
          - echo one >> steps.txt
      - id: append-2
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - test "$(cat steps.txt)" = one
          - echo two >> steps.txt
      - id: check
        type: io.kestra.plugin.scripts.shell.Commands
        taskRunner:
          type: io.kestra.plugin.core.runner.Process
        commands:
          - test "$(./run.sh)" = ran
          - test "$(./shell -c 'echo linked')" = linked
          - test "$(cat sub/deeper/id.txt)" = "{{ execution.id }}"
          - test "$(cat steps.txt | tr '\n' ' ')" = "one two "
"#;

fn share_across_hosts(service: &str) {
    let name = format!("wd_hosts_{service}_{}", std::process::id());
    let shared = services::Shared::database(service, &name);
    let variables = shared.variables("10s", "1s");
    let (first_tmp, second_tmp) = (
        tempfile::tempdir().expect("a folder"),
        tempfile::tempdir().expect("a folder"),
    );
    let agent = agent();
    let server = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let on = |folder: &tempfile::TempDir| {
        let mut host = variables.clone();
        host.push(("TMPDIR", folder.path().to_str().expect("a UTF-8 path")));
        // Two slots each: neither worker can take every task, so both run some.
        host.push(("KESTRA_WORKER_THREADS", "2"));
        Server::worker(&host)
    };
    let _first = on(&first_tmp);
    let _second = on(&second_tmp);

    post_flow(&agent, &server, FLOW);
    for _ in 0..EXECUTIONS {
        let response = agent
            .post(server.url("/api/v1/executions/crash.test/hosts"))
            .header("Content-Type", "multipart/form-data; boundary=b")
            .send("--b--\r\n")
            .expect("started");
        let (status, body) = read_json(response);
        assert_eq!(status, 200, "{body}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let ended = loop {
        let all = executions(&agent, &server, "hosts");
        if all.len() == EXECUTIONS && all.iter().all(terminal) {
            break all;
        }
        assert!(std::time::Instant::now() < deadline, "executions still run");
        std::thread::sleep(Duration::from_millis(200));
    };
    let workers: std::collections::HashSet<String> = task_runs(&ended)
        .into_iter()
        .flat_map(|run| run["attempts"].as_array().cloned().unwrap_or_default())
        .filter_map(|attempt| attempt["workerId"].as_str().map(str::to_string))
        .collect();
    assert_eq!(workers.len(), 2, "both workers ran tasks: {workers:?}");
    for execution in &ended {
        assert_eq!(state(execution), "SUCCESS", "{execution}");
    }
    // Each worker's copy goes once its task is done, and the save once the WorkingDirectory
    // has ended.
    for folder in [&first_tmp, &second_tmp] {
        let left = folder.path().join("peregrine/working-directories");
        let entries = std::fs::read_dir(&left).map(Iterator::count).unwrap_or(0);
        assert_eq!(entries, 0, "{left:?}");
    }
    let saves = || {
        walkdir(std::path::Path::new(&shared.storage))
            .into_iter()
            .filter(|path| path.to_string_lossy().contains("working-directories"))
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !saves().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(saves().is_empty(), "{:?}", saves());
    services::drop_databases(service, &name);
}

#[test]
fn the_tasks_of_a_working_directory_share_its_folder_across_hosts_on_postgres() {
    share_across_hosts("postgres");
}

#[test]
fn the_tasks_of_a_working_directory_share_its_folder_across_hosts_on_mariadb() {
    share_across_hosts("mariadb");
}

/// Every file below `folder`.
fn walkdir(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory)
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}
