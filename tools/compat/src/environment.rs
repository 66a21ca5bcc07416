//! What each flow runs on: Kestra's test environment (secrets, `envs`, `globals`) over the
//! topology's backends, a fresh database and storage folder per flow, and, on the split
//! topologies, worker processes of their own (on the roles topologies, a standby executor, a
//! scheduler and a webserver too).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use peregrine_node::config::{RepositoryType, ServerConfig};
use peregrine_node::runtime::RuntimeOptions;

use crate::split::{Processes, Target};

/// The topologies the runner knows.
pub const TOPOLOGIES: [&str; 8] = [
    "memory",
    "sqlite",
    "postgres",
    "mysql",
    "split-postgres",
    "split-mysql",
    "roles-postgres",
    "roles-mysql",
];

/// Worker processes each flow of a split topology runs with.
const WORKERS: usize = 3;

/// One flow's runtime options, and the processes of the other roles (split topologies).
pub struct Environment {
    pub options: RuntimeOptions,
    pub processes: Option<Processes>,
}

/// The `SECRET_*` variables of Kestra's test build, base64-encoded as Kestra reads them.
pub fn test_secrets() -> [(&'static str, String); 3] {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let long = "passwordveryveryveyrlong".repeat(5);
    [
        ("SECRET_MY_SECRET", encode(r#"{"secretKey":"secretValue"}"#)),
        ("SECRET_NEW_LINE", encode(&long)),
        ("SECRET_WEBHOOK_KEY", encode("secretKey")),
    ]
}

/// What Kestra's build gives its tests: `KESTRA_TEST*` variables, `SECRET_*` variables and the
/// `kestra.variables.globals` of its test configuration; beyond the `memory` topology, a fresh
/// database and storage folder under the system's temporary folder (removed when the run ends).
/// On the split topologies, no task runs in this process: worker processes started here claim
/// the jobs (they have not necessarily said they are ready yet).
pub async fn test_environment(topology: &str) -> anyhow::Result<Environment> {
    let secrets = peregrine_ports::secrets::EnvSecrets::from_vars(test_secrets());
    let mut options = RuntimeOptions::from_env();
    options.services.secrets = Arc::new(secrets);
    options.globals.envs = serde_json::json!({ "test1": "true", "test2": "Pass by env" });
    options.globals.globals =
        serde_json::json!({ "string": "string", "int": 1, "bool": true, "nested": { "int": 2 } });
    if topology == "memory" {
        return Ok(Environment {
            options,
            processes: None,
        });
    }
    let folder = sqlite_folder()?;
    let mut config = ServerConfig::default();
    config.datasources.sqlite.path = folder.join("peregrine.db");
    config.kestra.storage.local.base_path = folder.join("storage");
    let mut processes = None;
    let mut target = None;
    if let Some(service) = database_service(topology) {
        let name = folder
            .file_name()
            .map(|name| format!("{}{}", database_prefix(), name.to_string_lossy()))
            .unwrap_or_default();
        let url = service_script(service, &["database", &name])?;
        let kind = if service == "postgres" {
            RepositoryType::Postgres
        } else {
            RepositoryType::Mysql
        };
        let found = Target {
            kind,
            url,
            storage: config.kestra.storage.local.base_path.clone(),
        };
        found.configure(&mut config);
        if is_split(topology) {
            // Started before this process opens the database: they start while it does.
            let mut started = Processes::default();
            started.spawn(&found, "worker", WORKERS)?;
            processes = Some(started);
        }
        target = Some(found);
    }
    let backends = peregrine_node::backends::Backends::open(&config).await?;
    let durable = backends.runtime_options();
    options.store = durable.store;
    options.services.storage = durable.services.storage;
    options.services.kv = durable.services.kv;
    options.services.triggers = durable.services.triggers;
    // Kestra's tests read every execution back: keep them listed.
    options.keep_finished = usize::MAX;
    if let Some(processes) = &mut processes {
        anyhow::ensure!(
            backends.queue.is_some(),
            "the {topology} database cannot be shared by worker processes"
        );
        options.queue = backends.queue.clone();
        if let (true, Some(target)) = (is_roles(topology), &target) {
            // This process's executor holds the lease before the standby starts.
            hold_the_lease(&backends).await?;
            options.commands = backends.queue.clone();
            for role in crate::roles::ROLES {
                processes.spawn(target, role, 1)?;
            }
        }
    }
    Ok(Environment { options, processes })
}

/// Takes the executor's lease for this process's executor and keeps renewing it.
async fn hold_the_lease(backends: &peregrine_node::backends::Backends) -> anyhow::Result<()> {
    let lease = backends
        .lease
        .clone()
        .context("the database has no executor lease")?;
    let liveness = peregrine_node::config::Liveness::default();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let fence =
        peregrine_node::executor_lease::take(&lease, "compat-runner", &liveness, &shutdown, || {})
            .await
            .context("the executor lease was not taken")?;
    let _keeper =
        peregrine_node::executor_lease::keep(lease, fence, liveness, shutdown.clone(), shutdown);
    Ok(())
}

/// True for the topologies whose workers run in processes of their own.
pub fn is_split(topology: &str) -> bool {
    topology.starts_with("split-") || is_roles(topology)
}

/// True for the topologies where every role runs in processes of their own.
pub fn is_roles(topology: &str) -> bool {
    topology.starts_with("roles-")
}

/// A new folder for one flow's database, under one folder per run of the runner.
fn sqlite_folder() -> anyhow::Result<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let folder = sqlite_root().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}

/// The script starting the database server of a topology, if it has one.
pub fn database_service(topology: &str) -> Option<&'static str> {
    match topology {
        "postgres" | "split-postgres" | "roles-postgres" => Some("postgres"),
        "mysql" | "split-mysql" | "roles-mysql" => Some("mariadb"),
        _ => None,
    }
}

/// This run's databases start with this.
pub fn database_prefix() -> String {
    format!("compat_{}_", std::process::id())
}

/// Runs `scripts/services/SERVICE ARGS...` (which starts the server when it is not running)
/// and returns the last line it printed.
pub fn service_script(service: &str, args: &[&str]) -> anyhow::Result<String> {
    let script = Path::new("scripts/services").join(service);
    let output = std::process::Command::new(&script)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{} {}: {}",
        script.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string())
}

/// The folder of this run's databases and storage folders.
pub fn sqlite_root() -> PathBuf {
    std::env::temp_dir().join(format!("peregrine-compat-{}", std::process::id()))
}
