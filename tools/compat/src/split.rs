//! The processes of the split topologies: this binary run again with `--serve-role ROLE`, over
//! the database and storage folder of one flow. Workers claim the jobs the runner's executor
//! writes; on the roles topologies a standby executor, a scheduler and a webserver run too (see
//! `roles.rs`). Each says it is ready on a line of its own; it stops when killed or when its
//! input ends (so none outlives the runner).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use peregrine_node::backends::Backends;
use peregrine_node::config::{RepositoryType, ServerConfig};
use peregrine_node::worker_role::{RemoteOptions, remote_worker, worker_id};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// A process says it is ready with a line `compat ROLE ready DETAIL`.
fn ready_line(role: &str) -> String {
    format!("compat {role} ready")
}

/// Task runs each worker process runs at once.
const SLOTS: usize = 8;

/// The database and storage folder a worker process serves.
#[derive(Clone, Debug)]
pub struct Target {
    pub kind: RepositoryType,
    pub url: String,
    pub storage: PathBuf,
}

impl Target {
    /// Reads the `--worker-*` options a worker process is started with.
    pub fn from_args(
        kind: Option<&str>,
        url: Option<&str>,
        storage: Option<&PathBuf>,
    ) -> anyhow::Result<Self> {
        let kind = match kind {
            Some("postgres") => RepositoryType::Postgres,
            Some("mysql") => RepositoryType::Mysql,
            other => anyhow::bail!("--worker-kind must be postgres or mysql, not {other:?}"),
        };
        Ok(Self {
            kind,
            url: url.context("--worker-url is missing")?.to_string(),
            storage: storage.context("--worker-storage is missing")?.clone(),
        })
    }

    fn kind_name(&self) -> &'static str {
        if self.kind == RepositoryType::Postgres {
            "postgres"
        } else {
            "mysql"
        }
    }

    /// Points `config` at this database and storage folder.
    pub fn configure(&self, config: &mut ServerConfig) {
        let datasource = if self.kind == RepositoryType::Postgres {
            &mut config.datasources.postgres
        } else {
            &mut config.datasources.mysql
        };
        datasource.url.clone_from(&self.url);
        datasource.maximum_pool_size = 4;
        config.kestra.repository.kind = self.kind;
        config.kestra.queue.kind = self.kind;
        config
            .kestra
            .storage
            .local
            .base_path
            .clone_from(&self.storage);
    }
}

/// Processes running; killed when stopped or dropped.
#[derive(Default)]
pub struct Processes {
    children: Vec<Child>,
    /// What each process said after `ready` on its ready line.
    ready: Vec<oneshot::Receiver<String>>,
}

impl Processes {
    /// Starts `count` processes of `role` over `target`, with the secrets of Kestra's test
    /// build.
    pub fn spawn(&mut self, target: &Target, role: &str, count: usize) -> anyhow::Result<()> {
        let program = std::env::current_exe().context("cannot find the runner's executable")?;
        for _ in 0..count {
            let mut command = Command::new(&program);
            command
                .args(["--serve-role", role])
                .args(["--worker-kind", target.kind_name()])
                .args(["--worker-url", &target.url])
                .arg("--worker-storage")
                .arg(&target.storage)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit());
            // The same secrets as the executor's, whatever this process's environment holds.
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("SECRET_") {
                    command.env_remove(name);
                }
            }
            command.envs(crate::environment::test_secrets());
            let mut child = command
                .spawn()
                .with_context(|| format!("cannot start {}", program.display()))?;
            let stdout = child.stdout.take();
            self.children.push(child);
            let (sender, receiver) = oneshot::channel();
            self.ready.push(receiver);
            if let Some(stdout) = stdout {
                let ready = ready_line(role);
                // Reads the ready line, then whatever else comes until the process ends.
                std::thread::spawn(move || {
                    let mut sender = Some(sender);
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if let Some(detail) = line.strip_prefix(&ready)
                            && let Some(sender) = sender.take()
                        {
                            let _ = sender.send(detail.trim().to_string());
                        }
                    }
                });
            }
        }
        Ok(())
    }

    /// Waits until every process started has said it is ready; returns what each said, in the
    /// order they were started.
    pub async fn ready(&mut self, timeout: Duration) -> Result<Vec<String>, String> {
        let deadline = Instant::now() + timeout;
        let mut said = Vec::new();
        for (index, receiver) in self.ready.drain(..).enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, receiver).await {
                Ok(Ok(detail)) => said.push(detail),
                Ok(Err(_)) => {
                    return Err(format!("process {index} ended before it was ready"));
                }
                Err(_) => {
                    return Err(format!("process {index} was not ready within {timeout:?}"));
                }
            }
        }
        Ok(said)
    }

    /// Kills every process and waits for it to end.
    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
        }
        for mut child in self.children.drain(..) {
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Says `detail` on the ready line of `role`.
pub fn say_ready(role: &str, detail: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{} {detail}", ready_line(role))?;
    stdout.flush()?;
    Ok(())
}

/// A token cancelled once this process's input ends (the runner has stopped or dropped it).
pub fn until_input_ends() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        stop.cancel();
    });
    shutdown
}

/// Runs a process of `role` over `target` until it is killed or its input ends.
pub fn serve(target: &Target, role: &str) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(async {
        let mut config = ServerConfig::default();
        target.configure(&mut config);
        let backends = Backends::open(&config).await?;
        if role != "worker" {
            return crate::roles::serve(&backends, role).await;
        }
        let id = worker_id();
        let options = RemoteOptions {
            heartbeat: Duration::from_millis(500),
            timeout: Duration::from_secs(3),
            grace: Duration::from_secs(1),
        };
        let worker = remote_worker(
            &backends,
            id.clone(),
            SLOTS,
            crate::test_tasks::runners(),
            options,
        )?;
        let shutdown = until_input_ends();
        say_ready("worker", &id)?;
        match worker.serve(shutdown).await {
            Ok(()) => anyhow::Ok(ExitCode::SUCCESS),
            Err(error) => {
                eprintln!("compat worker {id}: {error}");
                anyhow::Ok(ExitCode::FAILURE)
            }
        }
    })?;
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_process_reads_its_target() {
        let storage = PathBuf::from("/tmp/storage");
        let target = Target::from_args(Some("mysql"), Some("mysql://x/y"), Some(&storage));
        let target = target.ok();
        assert_eq!(
            target.as_ref().map(|target| target.kind),
            Some(RepositoryType::Mysql)
        );
        let mut config = ServerConfig::default();
        if let Some(target) = &target {
            target.configure(&mut config);
        }
        assert_eq!(config.datasources.mysql.url, "mysql://x/y");
        assert_eq!(config.kestra.queue.kind, RepositoryType::Mysql);
        assert_eq!(config.kestra.storage.local.base_path, storage);
        assert!(Target::from_args(Some("sqlite"), Some("u"), Some(&storage)).is_err());
        assert!(Target::from_args(Some("postgres"), None, Some(&storage)).is_err());
    }
}
