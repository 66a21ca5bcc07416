//! `peregrine server webserver`: Kestra's REST API alone, over the database the executors share
//! and their internal storage. Flows are validated and stored (executors and schedulers read the
//! changes back), executions and logs read from the database, and commands written as
//! `command:` rows for the executor (see `server::StoreCommands`).

use std::net::SocketAddr;
use std::sync::Arc;

use peregrine_webserver::WebserverOptions;
use tokio_util::sync::CancellationToken;

use crate::backends::Backends;
use crate::config::ConfigError;
use crate::server::{RuntimeExecutions, RuntimeFlows, StoreCommands};

/// Why the webserver cannot run.
#[derive(Debug, thiserror::Error)]
pub enum WebserverError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Binds `address`, calls `ready` with the bound address, then serves until `shutdown` is
/// cancelled. Flows are validated against `registry` (the server's is [`crate::catalogue`]).
pub async fn serve(
    backends: &Backends,
    registry: Arc<peregrine_model::Registry>,
    address: SocketAddr,
    shutdown: CancellationToken,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), WebserverError> {
    let Some(queue) = backends.queue.clone() else {
        return Err(ConfigError::Invalid(
            "a webserver of its own needs a database the executors share: set \
             kestra.repository.type to postgres or mysql"
                .into(),
        )
        .into());
    };
    let options = backends.runtime_options();
    let commands = StoreCommands::new(
        registry.clone(),
        backends.store.clone(),
        queue,
        backends.flows.clone(),
        &options,
    );
    let webserver = WebserverOptions {
        flows: Arc::new(RuntimeFlows::stored_only(
            registry.clone(),
            backends.flows.clone(),
        )),
        executions: Arc::new(RuntimeExecutions::shared(backends.store.clone())),
        logs: backends.store.clone(),
        commands: Arc::new(commands),
        kv: options.services.kv.clone(),
        storage: options.services.storage.clone(),
        triggers: backends.triggers.clone(),
        registry,
        expressions: Some(Arc::new(crate::PebbleSyntax)),
        metrics: None,
    }
    .build();
    let listener = tokio::net::TcpListener::bind(address).await?;
    ready(listener.local_addr()?);
    webserver.run(listener, shutdown).await?;
    Ok(())
}
