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

/// What a server and its worker processes share: a database (on the shared service, or any URL)
/// and a storage folder, given to each process as environment variables.
pub struct Shared {
    repository: &'static str,
    url_key: &'static str,
    url: String,
    pub storage: String,
    _folder: tempfile::TempDir,
}

impl Shared {
    /// A fresh database `name` on the shared server of `service` (`postgres` or `mariadb`).
    pub fn database(service: &str, name: &str) -> Self {
        Self::at(service, database(service, name))
    }

    /// The database at `url`, served by `service`.
    pub fn at(service: &str, url: String) -> Self {
        let (repository, url_key) = match service {
            "mariadb" => ("mysql", "DATASOURCES_MYSQL_URL"),
            _ => ("postgres", "DATASOURCES_POSTGRES_URL"),
        };
        let folder = tempfile::tempdir().expect("a storage folder");
        Self {
            repository,
            url_key,
            url,
            storage: folder.path().to_string_lossy().into_owned(),
            _folder: folder,
        }
    }

    /// The variables configuring a process on it, with the liveness timeout and heartbeat.
    pub fn variables<'a>(
        &'a self,
        timeout: &'a str,
        heartbeat: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        vec![
            ("KESTRA_REPOSITORY_TYPE", self.repository),
            ("KESTRA_QUEUE_TYPE", self.repository),
            (self.url_key, self.url.as_str()),
            ("KESTRA_STORAGE_LOCAL_BASE_PATH", self.storage.as_str()),
            ("KESTRA_SERVER_LIVENESS_TIMEOUT", timeout),
            ("KESTRA_SERVER_LIVENESS_HEARTBEAT_INTERVAL", heartbeat),
        ]
    }
}
