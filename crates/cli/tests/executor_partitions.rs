//! Executors sharing the load (`kestra.executor.share-load`) on one PostgreSQL (then MariaDB)
//! database: two `server executor` processes split the partitions between them, then 200
//! executions with retries, subflows and loops run through a webserver and two workers of
//! their own; one executor is killed with SIGKILL meanwhile. The other takes its partitions
//! over once their leases expire, takes their executions back, and every one ends once: none
//! lost, no task run reported twice, each parent one child. Partitions also change hands
//! gracefully under load: an executor joining, then one asked to stop.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Server, agent, recovery, services};

const EXECUTIONS: usize = 200;

/// The last count of partitions an executor said it runs.
fn partitions_run(log: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find_map(|line| line.split(": runs ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
}

/// Waits until each executor says it runs `expected` partitions.
fn wait_for_shares(logs: &[&Path], expected: &[usize], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let shares: Vec<Option<usize>> = logs.iter().map(|log| partitions_run(log)).collect();
        if shares
            .iter()
            .zip(expected)
            .all(|(share, expected)| *share == Some(*expected))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the executors run {shares:?} partitions, not {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A fresh database with a webserver, two workers and a first executor sharing the load, once
/// that executor runs every partition.
struct Sharing {
    shared: services::Shared,
    /// The liveness timeout.
    timeout: &'static str,
    logs: tempfile::TempDir,
    webserver: Server,
    workers: [Server; 2],
    first: Server,
}

impl Sharing {
    fn start(service: &str, name: &str, timeout: &'static str) -> Self {
        let shared = services::Shared::database(service, name);
        let logs = tempfile::tempdir().expect("a folder for logs");
        let env = environment(&shared, timeout);
        let webserver = Server::role("webserver", &env);
        let workers = [Server::worker(&env), Server::worker(&env)];
        let first_log = logs.path().join("first");
        let first = Server::role_logged("executor", &env, &first_log).ready();
        wait_for_shares(&[&first_log], &[16], Duration::from_secs(20));
        Self {
            shared,
            timeout,
            logs,
            webserver,
            workers,
            first,
        }
    }

    fn log(&self, executor: &str) -> PathBuf {
        self.logs.path().join(executor)
    }

    /// A second executor, once it and the first run half the partitions each.
    fn second(&self) -> Server {
        let env = environment(&self.shared, self.timeout);
        let second = Server::role_logged("executor", &env, &self.log("second")).ready();
        let (first_log, second_log) = (self.log("first"), self.log("second"));
        wait_for_shares(&[&first_log, &second_log], &[8, 8], Duration::from_secs(20));
        second
    }
}

/// The variables of every process: the database, the liveness timeout, sharing on.
fn environment<'a>(shared: &'a services::Shared, timeout: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut variables = shared.variables(timeout, "500ms");
    variables.push(("KESTRA_EXECUTOR_SHARE_LOAD", "true"));
    variables
}

fn share_and_survive(service: &str) {
    let name = format!("executor_partitions_{}", std::process::id());
    let sharing = Sharing::start(service, &name, "3s");
    let second_log = sharing.log("second");
    let agent = agent();
    let webserver = &sharing.webserver;
    let second = sharing.second();
    recovery::start_parents(&agent, webserver, EXECUTIONS);
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        recovery::running_parents(&agent, webserver) > 0,
        "the executor must die while executions run"
    );
    let killed = Instant::now();
    sharing.first.kill();
    recovery::assert_all_end_once(&agent, webserver, EXECUTIONS, Duration::from_secs(120));
    eprintln!(
        "{service}: every execution ended {} ms after an executor died",
        killed.elapsed().as_millis()
    );
    // The survivor takes the partitions left over one per round.
    wait_for_shares(&[&second_log], &[16], Duration::from_secs(20));
    drop(sharing.workers);
    second.kill();
    sharing.webserver.kill();
    services::drop_databases(service, &name);
}

/// Partitions change hands while executions run: a second executor joins (the first gives it
/// half its partitions), then the first is asked to stop (it gives every partition back at
/// once, long before its leases would expire).
fn hand_partitions_over_under_load(service: &str) {
    let name = format!("executor_handover_{}", std::process::id());
    let mut sharing = Sharing::start(service, &name, "30s");
    let second_log = sharing.log("second");
    let agent = agent();
    recovery::start_parents(&agent, &sharing.webserver, EXECUTIONS);
    let second = sharing.second();
    assert!(
        recovery::running_parents(&agent, &sharing.webserver) > 0,
        "partitions must change hands while executions run"
    );
    let asked = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &sharing.first.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = sharing.first.child.wait().expect("the executor exits");
    assert!(exit.success(), "{exit}");
    wait_for_shares(&[&second_log], &[16], Duration::from_secs(20));
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "the partitions changed hands in {took:?}, not after the 30 s leases"
    );
    recovery::assert_all_end_once(
        &agent,
        &sharing.webserver,
        EXECUTIONS,
        Duration::from_secs(120),
    );
    drop(sharing.workers);
    second.kill();
    sharing.webserver.kill();
    services::drop_databases(service, &name);
}

#[test]
fn partitions_change_hands_under_load_on_postgres() {
    hand_partitions_over_under_load("postgres");
}

#[test]
fn partitions_change_hands_under_load_on_mariadb() {
    hand_partitions_over_under_load("mariadb");
}

#[test]
fn executors_on_postgres_share_the_load_and_survive_a_death() {
    share_and_survive("postgres");
}

#[test]
fn executors_on_mariadb_share_the_load_and_survive_a_death() {
    share_and_survive("mariadb");
}
