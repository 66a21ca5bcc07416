//! Workers of their own (`peregrine server worker`) beside a standalone server that runs none
//! (`--worker-thread 0`), on PostgreSQL then on MariaDB: one worker is killed with SIGKILL while
//! 200 executions with retries, subflows and loops run. The other worker takes over the task
//! runs the dead one held once its claims expire: every execution ends, none is lost, and a task
//! run lost with the worker ran exactly once more, its lost attempt recorded as RESUBMITTED.

mod common;

use std::time::{Duration, Instant};

use common::{Server, agent, recovery, services};
use serde_json::Value;

const EXECUTIONS: usize = 200;

fn database_name() -> String {
    format!("worker_death_{}", std::process::id())
}

/// The attempts' states of every task run of `executions`.
fn attempts(executions: &[Value]) -> Vec<Vec<String>> {
    executions
        .iter()
        .flat_map(|execution| {
            execution["taskRunList"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|run| {
            run["attempts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|attempt| {
                    attempt["state"]["current"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .collect()
}

fn survive_a_worker_death(service: &str, repository: &str, url_key: &str) {
    let url = services::database(service, &database_name());
    let storage = tempfile::tempdir().expect("a storage folder");
    let storage_path = storage.path().to_string_lossy().into_owned();
    let variables = [
        ("KESTRA_REPOSITORY_TYPE", repository),
        ("KESTRA_QUEUE_TYPE", repository),
        (url_key, url.as_str()),
        ("KESTRA_STORAGE_LOCAL_BASE_PATH", storage_path.as_str()),
        ("KESTRA_SERVER_LIVENESS_TIMEOUT", "3s"),
        ("KESTRA_SERVER_LIVENESS_HEARTBEAT_INTERVAL", "500ms"),
    ];
    let agent = agent();
    let server = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let doomed = Server::worker(&variables);
    let survivor = Server::worker(&variables);
    recovery::start_parents(&agent, &server, EXECUTIONS);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        recovery::running_parents(&agent, &server) > 0,
        "the worker must die while executions run"
    );
    let killed = Instant::now();
    doomed.kill();
    recovery::assert_all_end_once(&agent, &server, EXECUTIONS, Duration::from_secs(120));
    eprintln!(
        "{service}: every execution ended {} ms after the worker died",
        killed.elapsed().as_millis()
    );

    let parents = recovery::executions(&agent, &server, "parent");
    let children = recovery::executions(&agent, &server, "child");
    let all = attempts(&parents)
        .into_iter()
        .chain(attempts(&children))
        .collect::<Vec<_>>();
    let resubmitted: Vec<&Vec<String>> = all
        .iter()
        .filter(|states| states.iter().any(|state| state == "RESUBMITTED"))
        .collect();
    assert!(
        !resubmitted.is_empty(),
        "the dead worker held task runs: their lost attempts are recorded"
    );
    for states in &resubmitted {
        let lost = states
            .iter()
            .filter(|state| *state == "RESUBMITTED")
            .count();
        assert_eq!(
            lost, 1,
            "one worker died: one attempt lost at most ({states:?})"
        );
        let after: Vec<&String> = states
            .iter()
            .skip_while(|state| *state != "RESUBMITTED")
            .skip(1)
            .collect();
        assert!(
            !after.is_empty() && after.iter().all(|state| *state != "RUNNING"),
            "the lost attempt was followed by one that ended ({states:?})"
        );
    }
    eprintln!(
        "{service}: {} task runs lost with the worker ran again",
        resubmitted.len()
    );
    survivor.kill();
    server.kill();
    services::drop_databases(service, &database_name());
}

#[test]
fn a_killed_worker_on_postgres_costs_one_attempt_not_executions() {
    survive_a_worker_death("postgres", "postgres", "DATASOURCES_POSTGRES_URL");
}

#[test]
fn a_killed_worker_on_mariadb_costs_one_attempt_not_executions() {
    survive_a_worker_death("mariadb", "mysql", "DATASOURCES_MYSQL_URL");
}
