//! A database server of a test's own (`scripts/services/postgres|mariadb` on a folder and port of
//! their own), so stopping it disturbs no other test.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::free_port;

/// A database server of its own, stopped and removed when dropped.
pub struct Cluster {
    /// `postgres` or `mariadb`: the script under scripts/services.
    service: &'static str,
    folder: PathBuf,
    port: u16,
}

impl Cluster {
    pub fn start(service: &'static str) -> Self {
        // Readable by the server's own user, which the script runs it as under root.
        let folder = std::env::temp_dir().join(format!(
            "peregrine-cluster-{service}-{}",
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
        let mut command = super::services::script(self.service);
        command
            .env("PEREGRINE_SERVICES", &self.folder)
            .env("PEREGRINE_PG_PORT", self.port.to_string())
            .env("PEREGRINE_MYSQL_PORT", self.port.to_string());
        command
    }

    /// Runs the service script with `args` on this server; returns the last line printed.
    pub fn script(&self, args: &[&str]) -> String {
        let mut command = self.command();
        command.args(args);
        super::services::run(
            command,
            &format!("scripts/services/{} {args:?}", self.service),
        )
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
