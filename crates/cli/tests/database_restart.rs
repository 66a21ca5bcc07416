//! The database restarted under a standalone server on PostgreSQL, then on MariaDB, while 200
//! executions with retries and subflows are running: commits wait for it and go on, so every
//! execution reaches its terminal state, none is lost and no task run is reported twice.
//!
//! Each database is a private server of this test (`scripts/services/postgres|mariadb` on a
//! folder and port of their own), so restarting it disturbs no other test.

mod common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::{Server, agent, recovery};

const EXECUTIONS: usize = 200;

/// Runs 200 executions on a standalone server over `service`, restarts the database under
/// them, and checks every one ends once.
fn survive_a_restart(service: &'static str, repository: &str, url_key: &str) {
    let cluster = Cluster::start(service);
    let url = cluster.script(&["database", "restart_test"]);
    let storage = tempfile::tempdir().expect("a storage folder");
    let storage_path = storage.path().to_string_lossy().into_owned();
    let agent = agent();
    let server = Server::standalone(&[
        ("KESTRA_REPOSITORY_TYPE", repository),
        ("KESTRA_QUEUE_TYPE", repository),
        (url_key, &url),
        ("KESTRA_STORAGE_LOCAL_BASE_PATH", &storage_path),
    ]);
    recovery::start_parents(&agent, &server, EXECUTIONS);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        recovery::running_parents(&agent, &server) > 0,
        "the restart must land while executions run"
    );
    let stopped = Instant::now();
    cluster.script(&["stop"]);
    // Tasks keep ending on the worker meanwhile: their results wait for the database.
    std::thread::sleep(Duration::from_secs(2));
    cluster.script(&["start"]);
    eprintln!("{service} down for {} ms", stopped.elapsed().as_millis());
    recovery::assert_all_end_once(&agent, &server, EXECUTIONS, Duration::from_secs(120));
    server.kill();
}

#[test]
fn a_postgres_restart_costs_latency_not_executions() {
    survive_a_restart("postgres", "postgres", "DATASOURCES_POSTGRES_URL");
}

#[test]
fn a_mariadb_restart_costs_latency_not_executions() {
    survive_a_restart("mariadb", "mysql", "DATASOURCES_MYSQL_URL");
}
