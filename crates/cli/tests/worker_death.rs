//! Workers of their own (`peregrine server worker`) beside a standalone server that runs none
//! (`--worker-thread 0`), on PostgreSQL then on MariaDB: one worker is killed with SIGKILL while
//! 200 executions with retries, subflows and loops run; it ran alone until just before. The other
//! worker takes over the task runs the dead one held once its claims expire: every execution ends, none is lost, and a task
//! run lost with the worker ran exactly once more, its lost attempt recorded as RESUBMITTED.

mod common;

use std::time::{Duration, Instant};

use common::{Server, agent, executions, recovery, services};
use serde_json::Value;

const EXECUTIONS: usize = 200;

fn database_name() -> String {
    format!("worker_death_{}", std::process::id())
}

/// The attempts' states of every task run of `executions`.
fn attempts(executions: &[Value]) -> Vec<Vec<String>> {
    executions::task_runs(executions)
        .iter()
        .map(executions::attempt_states)
        .collect()
}

fn survive_a_worker_death(service: &str) {
    let shared = services::Shared::database(service, &database_name());
    let variables = shared.variables("3s", "500ms");
    let agent = agent();
    let server = Server::standalone_with(&["--worker-thread", "0"], &variables);
    // The doomed worker runs alone at first, so it holds task runs when it dies (two workers
    // from the start could leave it holding none at that instant, on a loaded machine).
    let mut doomed = Server::worker(&variables);
    recovery::start_parents(&agent, &server, EXECUTIONS);
    std::thread::sleep(Duration::from_millis(700));
    let survivor = Server::worker(&variables);
    assert!(
        recovery::running_parents(&agent, &server) > 0,
        "the worker must die while executions run"
    );
    assert!(
        matches!(doomed.child.try_wait(), Ok(None)),
        "the doomed worker still runs when it is killed"
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
    survive_a_worker_death("postgres");
}

#[test]
fn a_killed_worker_on_mariadb_costs_one_attempt_not_executions() {
    survive_a_worker_death("mariadb");
}
