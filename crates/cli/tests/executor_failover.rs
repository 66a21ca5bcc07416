//! Two executors on one PostgreSQL (then MariaDB) database (`server standalone --worker-thread 0`), two
//! workers of their own: the executor holding the lease is killed with SIGKILL while 200
//! executions with retries, subflows and loops run. The standby takes the lease over once it
//! expires, takes the unfinished executions back, and every one ends once: none lost, no task
//! run reported twice, each parent one child.

mod common;

use std::time::{Duration, Instant};

use common::{Server, agent, recovery, services};

const EXECUTIONS: usize = 200;

fn database_name() -> String {
    format!("executor_failover_{}", std::process::id())
}

fn survive_an_executor_death(service: &str) {
    let shared = services::Shared::database(service, &database_name());
    let variables = shared.variables("3s", "500ms");
    let agent = agent();
    let active = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let standby = Server::standalone_later(&["--worker-thread", "0"], &variables);
    let workers = [Server::worker(&variables), Server::worker(&variables)];
    recovery::start_parents(&agent, &active, EXECUTIONS);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        recovery::running_parents(&agent, &active) > 0,
        "the executor must die while executions run"
    );
    let killed = Instant::now();
    active.kill();
    let standby = standby.ready();
    eprintln!(
        "{service}: the standby executor took over {} ms after the active one died",
        killed.elapsed().as_millis()
    );
    recovery::assert_all_end_once(&agent, &standby, EXECUTIONS, Duration::from_secs(120));
    eprintln!(
        "{service}: every execution ended {} ms after the executor died",
        killed.elapsed().as_millis()
    );
    drop(workers);
    standby.kill();
    services::drop_databases(service, &database_name());
}

#[test]
fn a_killed_executor_on_postgres_is_replaced_without_losing_executions() {
    survive_an_executor_death("postgres");
}

#[test]
fn a_killed_executor_on_mariadb_is_replaced_without_losing_executions() {
    survive_an_executor_death("mariadb");
}

/// An executor asked to stop (SIGTERM) gives the lease up: the standby takes over at once, long
/// before the lease would have expired.
#[test]
fn a_stopped_executor_hands_the_lease_over_at_once() {
    let name = format!("executor_handover_{}", std::process::id());
    let shared = services::Shared::database("postgres", &name);
    let variables = shared.variables("30s", "500ms");
    let mut active = Server::standalone_with(&["--worker-thread", "0"], &variables);
    let standby = Server::standalone_later(&["--worker-thread", "0"], &variables);
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &active.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = active.child.wait().expect("the executor exits");
    assert!(exit.success(), "{exit}");
    let standby = standby.ready();
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the standby took over in {took:?}, not after the 30 s lease"
    );
    standby.kill();
    services::drop_databases("postgres", &name);
}
