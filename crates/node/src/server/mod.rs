//! `peregrine server local` and `standalone`: every role in this process, with the REST API.
//!
//! The ports the webserver serves sit over the [`LocalRuntime`] and its backends (memory or
//! SQLite): flows validated, stored and loaded into the runtime; executions and logs read from
//! the store; commands sent to the runtime.

mod commands;
mod executions;
mod flow_folder;
mod flows;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use peregrine_model::Registry;
use peregrine_webserver::{Webserver, WebserverOptions};
use tokio_util::sync::CancellationToken;

pub use commands::RuntimeCommands;
pub use commands::StoreCommands;
pub use executions::RuntimeExecutions;
pub use flow_folder::{FLOW_FOLDER_POLL, FlowFolder, FolderEvent, FolderReport};
pub use flows::{
    FLOW_REFRESH, FlowChange, FlowListener, MemoryFlowRepository, RuntimeFlows, follow_repository,
};
pub use metrics::ExecutionMetrics;

use crate::backends::Backends;
use crate::runtime::LocalRuntime;

/// The runtime and the in-memory ports over it.
#[derive(Clone)]
pub struct LocalServices {
    pub registry: Arc<Registry>,
    pub runtime: LocalRuntime,
    pub flows: Arc<RuntimeFlows>,
    pub executions: Arc<RuntimeExecutions>,
    pub logs: Arc<dyn peregrine_ports::repository::LogRepository>,
    pub commands: Arc<RuntimeCommands>,
    /// The key-value store the runtime's tasks use.
    pub kv: Arc<dyn peregrine_ports::kv::KvStore>,
    /// The internal storage the runtime's tasks use (namespace files included).
    pub storage: Arc<dyn peregrine_ports::storage::Storage>,
    /// The trigger states, through the [`crate::scheduling::NotifyingTriggers`] the runtime's
    /// tasks use: every change wakes the scheduler.
    pub triggers: Arc<dyn peregrine_ports::triggers::TriggerStore>,
    pub metrics: Arc<ExecutionMetrics>,
    /// The scheduler role, fed the flows loaded here; none in an executor of its own.
    pub scheduler: Option<peregrine_scheduler::SchedulerHandle>,
}

impl std::fmt::Debug for LocalServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServices").finish_non_exhaustive()
    }
}

impl LocalServices {
    /// Starts the runtime on the current tokio runtime, and the ports over it, all in memory.
    pub fn start(registry: Arc<Registry>) -> Self {
        Self::start_on(registry, &Backends::memory())
    }

    /// Starts on the given backends without reading back what they hold (see [`Self::open`]).
    pub fn start_on(registry: Arc<Registry>, backends: &Backends) -> Self {
        Self::start_roles(registry, backends, Roles::default())
    }

    /// Starts the executor (and the scheduler when `roles` asks) on the given backends.
    pub fn start_roles(registry: Arc<Registry>, backends: &Backends, roles: Roles) -> Self {
        let mut options = backends.runtime_options();
        let link = crate::scheduling::notify_changes(backends.triggers.clone(), &mut options);
        let runtime = LocalRuntime::start_with(registry.clone(), options.clone());
        let metrics = Arc::new(ExecutionMetrics::default());
        let observer = metrics.clone();
        runtime.on_change(Arc::new(move |execution| observer.observe(execution)));
        let flows = Arc::new(RuntimeFlows::new(
            registry.clone(),
            runtime.clone(),
            backends.flows.clone(),
        ));
        let scheduler = roles.scheduler.then(|| {
            crate::scheduling::start(
                &runtime,
                &flows,
                backends.triggers.clone(),
                &options,
                &link,
                CancellationToken::new(),
            )
        });
        Self {
            scheduler,
            registry,
            executions: Arc::new(RuntimeExecutions::new(runtime.clone())),
            logs: runtime.store(),
            commands: Arc::new(
                RuntimeCommands::new(runtime.clone(), flows.clone()).with_options(&options),
            ),
            kv: options.services.kv.clone(),
            storage: options.services.storage.clone(),
            triggers: options.services.triggers.clone(),
            flows,
            runtime,
            metrics,
        }
    }

    /// Starts on the given backends and takes back what they hold: the stored flows, then the
    /// executions a previous process left unfinished and their pending work.
    pub async fn open(
        registry: Arc<Registry>,
        backends: &Backends,
    ) -> Result<(Self, Reopened), crate::runtime::RuntimeError> {
        Self::open_roles(registry, backends, Roles::default()).await
    }

    /// [`Self::open`], with the scheduler only when `roles` asks.
    pub async fn open_roles(
        registry: Arc<Registry>,
        backends: &Backends,
        roles: Roles,
    ) -> Result<(Self, Reopened), crate::runtime::RuntimeError> {
        let services = Self::start_roles(registry, backends, roles);
        let (flows, refused) = services.flows.load_stored().await?;
        let recovered = services.runtime.recover().await?;
        let reopened = Reopened {
            flows,
            refused,
            recovered,
            runtime: Some(services.runtime.clone()),
        };
        Ok((services, reopened))
    }

    /// The REST API over these ports.
    pub fn webserver(&self) -> Webserver {
        let metrics = self.metrics.clone();
        WebserverOptions {
            flows: self.flows.clone(),
            executions: self.executions.clone(),
            logs: self.logs.clone(),
            commands: self.commands.clone(),
            kv: self.kv.clone(),
            storage: self.storage.clone(),
            triggers: self.triggers.clone(),
            registry: self.registry.clone(),
            expressions: Some(Arc::new(crate::PebbleSyntax)),
            metrics: Some(Arc::new(move |out: &mut String| metrics.render(out))),
        }
        .build()
    }
}

/// The roles a server process runs beside the executor.
#[derive(Clone, Copy, Debug)]
pub struct Roles {
    /// The scheduler (off in `peregrine server executor`: a scheduler of its own fires).
    pub scheduler: bool,
    /// The REST API (off in `peregrine server executor`).
    pub webserver: bool,
}

impl Default for Roles {
    fn default() -> Self {
        Self {
            scheduler: true,
            webserver: true,
        }
    }
}

/// What [`LocalServices::open`] read back from the backends.
#[derive(Clone, Debug, Default)]
pub struct Reopened {
    /// Stored flows loaded.
    pub flows: usize,
    /// Stored flows that no longer load, with why.
    pub refused: Vec<String>,
    pub recovered: crate::runtime::Recovered,
    /// The runtime serving them.
    pub runtime: Option<LocalRuntime>,
}

/// Where to listen, what to run on and which flows to load.
#[derive(Clone)]
pub struct LocalServerOptions {
    pub address: SocketAddr,
    pub backends: Backends,
    /// A folder of flow files loaded at start and watched.
    pub flow_path: Option<PathBuf>,
    /// Told what the flow folder sync did.
    pub report: FolderReport,
    pub roles: Roles,
}

impl std::fmt::Debug for LocalServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServerOptions")
            .field("address", &self.address)
            .field("flow_path", &self.flow_path)
            .finish_non_exhaustive()
    }
}

/// Binds, reads back the backends, loads the flow folder, calls `ready` with the bound address
/// and what was read back, then serves until `shutdown` is cancelled (open event streams end,
/// in-flight requests are answered).
pub async fn serve_local(
    options: LocalServerOptions,
    shutdown: CancellationToken,
    ready: impl FnOnce(SocketAddr, &Reopened),
) -> std::io::Result<()> {
    // An executor of its own serves nothing: it binds no port.
    let listener = if options.roles.webserver {
        Some(tokio::net::TcpListener::bind(options.address).await?)
    } else {
        None
    };
    let registry = Arc::new(crate::catalogue());
    let (services, reopened) =
        LocalServices::open_roles(registry, &options.backends, options.roles)
            .await
            .map_err(std::io::Error::other)?;
    // Other processes (a webserver of their own) change the flows too.
    if options.backends.queue.is_some() {
        let report = Arc::new(|message: String| eprintln!("{message}"));
        tokio::spawn(flows::follow_repository(
            services.flows.clone(),
            report,
            shutdown.clone(),
        ));
        // So do schedulers of their own, and the webserver's API changes the trigger states.
        if let Some(scheduler) = &services.scheduler {
            tokio::spawn(crate::scheduling::watch_states(
                scheduler.clone(),
                options.backends.triggers.clone(),
                options.backends.store.clone(),
                shutdown.clone(),
            ));
        }
    }
    if let Some(path) = options.flow_path {
        let mut folder = FlowFolder::new(path, services.flows.clone(), options.report);
        folder.sync().await?;
        tokio::spawn(folder.watch(shutdown.clone()));
    }
    let address = match &listener {
        Some(listener) => listener.local_addr()?,
        None => options.address,
    };
    ready(address, &reopened);
    let runtime = services.runtime.clone();
    let retention = crate::retention::Retention {
        policy: options.backends.retention.clone(),
        store: options.backends.store.clone(),
        storage: options.backends.storage.clone(),
        forget: Arc::new(move |ids: &[String]| {
            for id in ids {
                runtime.forget(id);
            }
        }),
    };
    tokio::spawn(retention.run(shutdown.clone(), Arc::new(|message| eprintln!("{message}"))));
    match listener {
        Some(listener) => services.webserver().run(listener, shutdown).await,
        None => {
            shutdown.cancelled().await;
            Ok(())
        }
    }
}

/// A state as Kestra writes it (`SUCCESS`).
pub(crate) fn state_name(state: peregrine_model::state::State) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod namespace_files_tests;
#[cfg(test)]
mod tests;
