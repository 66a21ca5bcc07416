//! The database services of the tests (`scripts/services/postgres|mariadb`): a command running a
//! script, and fresh databases on the shared servers.

use std::path::Path;
use std::process::Command;

/// `scripts/services/<service>`, to be given its arguments.
pub fn script(service: &str) -> Command {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new(root.join("scripts/services").join(service))
}

/// Runs a prepared script command; returns the last line it printed.
pub fn run(mut command: Command, what: &str) -> String {
    let output = command.output().expect("the service script runs");
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A fresh database `name` on the shared server of `service`; returns its URL.
pub fn database(service: &str, name: &str) -> String {
    let mut command = script(service);
    command.args(["database", name]);
    run(
        command,
        &format!("scripts/services/{service} database {name}"),
    )
}

/// Drops the databases whose names start with `prefix` (best effort).
pub fn drop_databases(service: &str, prefix: &str) {
    let _ = script(service).args(["drop", prefix]).output();
}
