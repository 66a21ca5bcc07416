//! `peregrine server local`: every role in this process on in-memory state, with the REST API.
//!
//! The ports the webserver serves are implemented over the [`LocalRuntime`]: flows with
//! revisions in memory (a saved flow is loaded into the runtime), executions and logs read from
//! the runtime, commands sent to it. Everything is lost when the process stops; persistence on
//! SQLite comes next.

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
pub use executions::RuntimeExecutions;
pub use flow_folder::{FLOW_FOLDER_POLL, FlowFolder, FolderEvent, FolderReport};
pub use flows::MemoryFlowRepository;
pub use metrics::ExecutionMetrics;

use crate::runtime::LocalRuntime;

/// The runtime and the in-memory ports over it.
#[derive(Clone)]
pub struct LocalServices {
    pub registry: Arc<Registry>,
    pub runtime: LocalRuntime,
    pub flows: Arc<MemoryFlowRepository>,
    pub executions: Arc<RuntimeExecutions>,
    pub logs: Arc<dyn peregrine_ports::repository::LogRepository>,
    pub commands: Arc<RuntimeCommands>,
    pub metrics: Arc<ExecutionMetrics>,
}

impl std::fmt::Debug for LocalServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServices").finish_non_exhaustive()
    }
}

impl LocalServices {
    /// Starts the runtime on the current tokio runtime, and the ports over it.
    pub fn start(registry: Arc<Registry>) -> Self {
        let runtime = LocalRuntime::start(registry.clone());
        let metrics = Arc::new(ExecutionMetrics::default());
        let observer = metrics.clone();
        runtime.on_change(Arc::new(move |execution| observer.observe(execution)));
        let flows = Arc::new(MemoryFlowRepository::new(registry.clone(), runtime.clone()));
        Self {
            registry,
            executions: Arc::new(RuntimeExecutions::new(runtime.clone())),
            logs: runtime.store(),
            commands: Arc::new(RuntimeCommands::new(runtime.clone(), flows.clone())),
            flows,
            runtime,
            metrics,
        }
    }

    /// The REST API over these ports.
    pub fn webserver(&self) -> Webserver {
        let metrics = self.metrics.clone();
        WebserverOptions {
            flows: self.flows.clone(),
            executions: self.executions.clone(),
            logs: self.logs.clone(),
            commands: self.commands.clone(),
            registry: self.registry.clone(),
            expressions: Some(Arc::new(crate::PebbleSyntax)),
            metrics: Some(Arc::new(move |out: &mut String| metrics.render(out))),
        }
        .build()
    }
}

/// Where to listen and which flows to load.
#[derive(Clone)]
pub struct LocalServerOptions {
    pub address: SocketAddr,
    /// A folder of flow files loaded at start and watched.
    pub flow_path: Option<PathBuf>,
    /// Told what the flow folder sync did.
    pub report: FolderReport,
}

impl std::fmt::Debug for LocalServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalServerOptions")
            .field("address", &self.address)
            .field("flow_path", &self.flow_path)
            .finish_non_exhaustive()
    }
}

/// Binds, loads the flow folder, calls `ready` with the bound address, then serves until
/// `shutdown` is cancelled (open event streams end, in-flight requests are answered).
pub async fn serve_local(
    options: LocalServerOptions,
    shutdown: CancellationToken,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.address).await?;
    let services = LocalServices::start(Arc::new(crate::catalogue()));
    if let Some(path) = options.flow_path {
        let mut folder = FlowFolder::new(path, services.flows.clone(), options.report);
        folder.sync().await?;
        tokio::spawn(folder.watch(shutdown.clone()));
    }
    ready(listener.local_addr()?);
    services.webserver().run(listener, shutdown).await
}

/// A state as Kestra writes it (`SUCCESS`).
pub(crate) fn state_name(state: peregrine_model::state::State) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
