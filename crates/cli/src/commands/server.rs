//! `peregrine server local|standalone`: every role in this process, with the REST API on
//! 127.0.0.1; `peregrine server executor|worker|webserver|scheduler`: one role alone, on a
//! database the processes share.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use peregrine_node::backends::Backends;
use peregrine_node::config::ServerConfig;
use peregrine_node::server::{FolderEvent, LocalServerOptions, Reopened, Roles, serve_local};
use tokio_util::sync::CancellationToken;

/// How long in-flight requests may take to finish once a stop is asked.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run every role (executor, worker, webserver) in this process with zero configuration,
    /// serving Kestra's REST API on 127.0.0.1.
    ///
    /// Flows, executions and logs are kept in an embedded SQLite database and files in a folder,
    /// both under `--data` (./data); executions left running by a stopped or crashed server are
    /// taken back at the next start. Stops gracefully on Ctrl-C or SIGTERM.
    Local {
        /// The port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The folder of the database (peregrine.db) and of internal storage (storage/).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Keep everything in memory instead (lost when the server stops).
        #[arg(long, conflicts_with = "data")]
        memory: bool,
        /// A folder of flow files (.yml, .yaml; one flow each) to load at start and keep in
        /// step: the folder is polled every second, a changed file becomes a new revision, a
        /// removed file deletes its flow.
        #[arg(long, short = 'f')]
        flow_path: Option<PathBuf>,
    },
    /// Run every role in this process on the backends a configuration file names (Kestra-like
    /// keys: `kestra.repository.type`, `kestra.storage.type`, `datasources.postgres.url`,
    /// `micronaut.server.port`; see docs/configuration.md). Environment variables set keys too
    /// (`KESTRA_REPOSITORY_TYPE=postgres`, `DATASOURCES_POSTGRES_URL=...`), over the file.
    Standalone {
        /// The configuration file (YAML); without one, environment variables and defaults.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// The port to listen on, instead of the file's `micronaut.server.port`.
        #[arg(long)]
        port: Option<u16>,
        /// A folder of flow files to load at start and keep in step.
        #[arg(long, short = 'f')]
        flow_path: Option<PathBuf>,
        /// Task runs this process runs at once, instead of `kestra.worker.threads`; 0 runs no
        /// worker here: workers of their own (`peregrine server worker`) on the same database
        /// run the tasks.
        #[arg(long)]
        worker_thread: Option<usize>,
    },
    /// Run only the worker role: claim task runs from the database the executors use (PostgreSQL
    /// or MySQL) and run them, sharing internal storage with them. Any number may run, on any
    /// host. Stops gracefully on Ctrl-C or SIGTERM (running tasks finish within
    /// `kestra.server.termination-grace-period`, then are handed back); stops on its own, with
    /// exit code 3, when it cannot renew its claims for `kestra.server.liveness.timeout`.
    Worker {
        /// The configuration file (YAML); without one, environment variables and defaults.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// Task runs running at once, instead of `kestra.worker.threads`.
        #[arg(long)]
        thread: Option<usize>,
    },
    /// Run only the executor role on a database the other roles share (PostgreSQL or MySQL):
    /// it runs executions once it holds the executor's lease (the others stand by) and runs no
    /// task, no schedule and no API; workers, schedulers and webservers of their own do.
    Executor {
        /// The configuration file (YAML); without one, environment variables and defaults.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
    },
    /// Run only the REST API on a database the executors share (PostgreSQL or MySQL): flows
    /// are stored there, executions and logs read from there, and commands (start, kill,
    /// resume, restart, replay, labels) written there for the executor.
    Webserver {
        /// The configuration file (YAML); without one, environment variables and defaults.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// The port to listen on, instead of the file's `micronaut.server.port`.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Run only the scheduler on a database the executors share (PostgreSQL or MySQL): each
    /// slot of a Schedule trigger is claimed there, once, and its execution started by the
    /// executor.
    Scheduler {
        /// The configuration file (YAML); without one, environment variables and defaults.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
    },
}

pub fn run(command: ServerCommand) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    match command {
        ServerCommand::Local {
            port,
            data,
            memory,
            flow_path,
        } => {
            let config = (!memory).then(|| {
                let mut config = ServerConfig::default();
                config.datasources.sqlite.path = data.join("peregrine.db");
                config.kestra.storage.local.base_path = data.join("storage");
                config
            });
            let roles = Roles::default();
            serve("local", started, port, config, flow_path, roles)
        }
        ServerCommand::Standalone {
            config,
            port,
            flow_path,
            worker_thread,
        } => {
            let mut config = read_config(config.as_deref())?;
            if let Some(threads) = worker_thread {
                config.kestra.worker.threads = threads;
            }
            let port = port.unwrap_or(config.micronaut.server.port);
            let roles = Roles::default();
            serve("standalone", started, port, Some(config), flow_path, roles)
        }
        ServerCommand::Executor { config } => {
            let mut config = read_config(config.as_deref())?;
            config.kestra.worker.threads = 0;
            let roles = Roles {
                scheduler: false,
                webserver: false,
            };
            serve("executor", started, 0, Some(config), None, roles)
        }
        ServerCommand::Webserver { config, port } => {
            let config = read_config(config.as_deref())?;
            let port = port.unwrap_or(config.micronaut.server.port);
            super::roles::webserver(started, config, port)
        }
        ServerCommand::Scheduler { config } => {
            let config = read_config(config.as_deref())?;
            super::roles::scheduler(started, config)
        }
        ServerCommand::Worker { config, thread } => {
            let mut config = read_config(config.as_deref())?;
            if let Some(threads) = thread {
                config.kestra.worker.threads = threads;
            }
            super::worker::run(started, config)
        }
    }
}

/// The configuration file, or the environment alone; unused keys are reported.
fn read_config(path: Option<&std::path::Path>) -> anyhow::Result<ServerConfig> {
    let config = match path {
        Some(path) => ServerConfig::read(path)?,
        None => ServerConfig::from_env()?,
    };
    for key in config.ignored_keys() {
        eprintln!("configuration: {key} is not used by Peregrine");
    }
    Ok(config)
}

/// How to stop a lease keeper or balancer, and what it says when it stops.
type BalancerHandle = (CancellationToken, tokio::task::JoinHandle<Option<String>>);

/// Serves on the backends `config` names, or in memory without one.
fn serve(
    mode: &'static str,
    started: Instant,
    port: u16,
    config: Option<ServerConfig>,
    flow_path: Option<PathBuf>,
    roles: Roles,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(async move {
        let mut backends = match &config {
            Some(config) => Backends::open(config).await?,
            None => Backends::memory(),
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        // Executors of their own sharing the load each run the partitions they hold (taken once
        // the runtime is up, see `ready`).
        let sharing = match (&config, &backends.lease, &backends.partition_leases) {
            (Some(config), Some(lease), Some(leases))
                if mode == "executor" && config.kestra.executor.share_load =>
            {
                let count = backends.store.partition_count();
                backends.partitions = Some(count);
                Some((lease.clone(), leases.clone(), count, config.kestra.server.liveness.clone()))
            }
            (Some(config), _, _) if config.kestra.executor.share_load => {
                anyhow::bail!(
                    "kestra.executor.share-load: executors share the load on PostgreSQL or                      MySQL, in `peregrine server executor` processes"
                );
            }
            _ => None,
        };
        let balancer: Arc<std::sync::Mutex<Option<BalancerHandle>>> = Arc::default();
        // On a database several executors share, this one runs executions (and serves) once it
        // holds the executor's lease; losing it stops the server.
        let mut keeper = None;
        if let (Some(lease), Some(config), None) = (backends.lease.clone(), &config, &sharing) {
            let liveness = config.kestra.server.liveness.clone();
            let owner = peregrine_node::worker_role::worker_id();
            let waiting = || eprintln!("executor {owner}: another executor holds the lease, waiting");
            let Some(fence) =
                peregrine_node::executor_lease::take(&lease, &owner, &liveness, &shutdown, waiting)
                    .await
            else {
                return anyhow::Ok(ExitCode::SUCCESS);
            };
            let stop = CancellationToken::new();
            let handle = peregrine_node::executor_lease::keep(
                lease,
                fence,
                liveness,
                stop.clone(),
                shutdown.clone(),
            );
            keeper = Some((stop, handle));
        }
        let description = backends.description.clone();
        let options = LocalServerOptions {
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            backends,
            flow_path,
            report: Arc::new(print_folder_event),
            roles,
        };
        let started_balancer = balancer.clone();
        let lost = shutdown.clone();
        let ready = move |address: SocketAddr, reopened: &Reopened| {
            if let (Some((lease, leases, count, liveness)), Some(runtime)) =
                (sharing, reopened.runtime.clone())
            {
                let stop = CancellationToken::new();
                let balancing = peregrine_node::executor_partitions::Balancing {
                    runtime,
                    leases,
                    lease,
                    owner: peregrine_node::worker_role::worker_id(),
                    count,
                    liveness,
                };
                let handle = balancing.run(stop.clone(), lost);
                if let Ok(mut slot) = started_balancer.lock() {
                    *slot = Some((stop, handle));
                }
            }
            for refused in &reopened.refused {
                eprintln!("stored flow not loaded: {refused}");
            }
            for skipped in &reopened.recovered.skipped {
                eprintln!("not taken back: {skipped}");
            }
            let recovered = &reopened.recovered;
            if recovered.executions > 0 {
                eprintln!(
                    "took back {} unfinished executions ({} task runs resubmitted, {} timers, {} subflows)",
                    recovered.executions, recovered.jobs, recovered.timers, recovered.subflows
                );
            }
            let elapsed = started.elapsed().as_millis();
            let flows = reopened.flows;
            if roles.webserver {
                super::say(format_args!(
                    "peregrine server {mode} ready on http://{address} in {elapsed} ms ({description}, {flows} flows)"
                ));
            } else {
                super::say(format_args!("peregrine server {mode} ready in {elapsed} ms ({description}, {flows} flows)"));
            }
        };
        let mut server = tokio::spawn(serve_local(options, shutdown.clone(), ready));
        let overdue = async {
            shutdown.cancelled().await;
            tokio::time::sleep(GRACE).await;
        };
        tokio::select! {
            result = &mut server => result??,
            () = overdue => eprintln!("stopping without waiting for the requests still open"),
        }
        let balancing = balancer.lock().ok().and_then(|mut slot| slot.take());
        if let Some((stop, handle)) = balancing.or(keeper) {
            stop.cancel();
            if let Ok(Some(reason)) = handle.await {
                eprintln!("stopping: {reason}");
                return anyhow::Ok(ExitCode::from(super::LOST));
            }
        }
        anyhow::Ok(ExitCode::SUCCESS)
    })?;
    // Running tasks (executions in flight) are dropped with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(code)
}

pub(super) async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    eprintln!("stopping");
    shutdown.cancel();
}

fn print_folder_event(event: FolderEvent) {
    match event {
        FolderEvent::Saved {
            file,
            flow,
            revision,
        } => eprintln!("{}: flow {flow} revision {revision}", file.display()),
        FolderEvent::Invalid { file, problems } => {
            for problem in problems {
                eprintln!("{}:{problem}", file.display());
            }
        }
        FolderEvent::Deleted { file, flow } => {
            eprintln!("{}: removed, flow {flow} deleted", file.display());
        }
    }
}
