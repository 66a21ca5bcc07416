//! The database restarted under a standalone server on PostgreSQL, then on MariaDB, while 200
//! executions with retries and subflows are running: commits wait for it and go on, so every
//! execution reaches its terminal state, none is lost and no task run is reported twice.
//!
//! Each database is a private server of this test (`scripts/services/postgres|mariadb` on a
//! folder and port of their own), so restarting it disturbs no other test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, agent, free_port, recovery};

const EXECUTIONS: usize = 200;

/// A database server of its own, stopped and removed when dropped.
struct Cluster {
    /// `postgres` or `mariadb`: the script under scripts/services.
    service: &'static str,
    folder: PathBuf,
    port: u16,
}

impl Cluster {
    fn start(service: &'static str) -> Self {
        // Readable by the server's own user, which the script runs it as under root.
        let folder = std::env::temp_dir().join(format!(
            "peregrine-dbrestart-{service}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&folder).expect("a folder");
        set_world_readable(&folder);
        let cluster = Self {
            service,
            folder,
            port: free_port(),
        };
        cluster.script(&["start"]);
        cluster
    }

    fn command(&self) -> Command {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut command = Command::new(root.join("scripts/services").join(self.service));
        command
            .env("PEREGRINE_SERVICES", &self.folder)
            .env("PEREGRINE_PG_PORT", self.port.to_string())
            .env("PEREGRINE_MYSQL_PORT", self.port.to_string());
        command
    }

    /// Runs the service script with `args` on this server; returns the last line printed.
    fn script(&self, args: &[&str]) -> String {
        let output = self.command().args(args).output().expect("the script runs");
        assert!(
            output.status.success(),
            "scripts/services/{} {args:?}: {}",
            self.service,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.command().arg("stop").output();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn set_world_readable(folder: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).expect("permissions");
}

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
