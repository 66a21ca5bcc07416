//! Set-up shared by the integration tests.

// Each test binary compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use peregrine_node::backends::Backends;
use peregrine_node::config::ServerConfig;

/// The backends `server local` opens on `folder`: SQLite and a storage folder. Called outside
/// a tokio runtime: they serve any runtime afterwards.
pub fn sqlite_backends(folder: &std::path::Path) -> Backends {
    let mut config = ServerConfig::default();
    config.datasources.sqlite.path = folder.join("peregrine.db");
    config.kestra.storage.local.base_path = folder.join("storage");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(Backends::open(&config))
        .expect("backends open")
}

/// How many executions of a flow the store holds.
pub async fn executions_of(
    services: &peregrine_node::server::LocalServices,
    namespace: &str,
    flow_id: &str,
) -> usize {
    use peregrine_ports::repository::ExecutionQuery;
    let query = ExecutionQuery {
        namespace: Some(namespace.into()),
        flow_id: Some(flow_id.into()),
        states: Vec::new(),
        page: 1,
        size: 1_000,
    };
    services
        .runtime
        .store()
        .search(&query)
        .await
        .expect("search")
        .total
}

/// The runtime the server tests run on: two worker threads, timers and I/O.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The server's services over `backends`, with the whole plugin catalogue.
pub async fn services(backends: &Backends) -> peregrine_node::server::LocalServices {
    let registry = std::sync::Arc::new(peregrine_node::catalogue());
    let (services, _) = peregrine_node::server::LocalServices::open(registry, backends)
        .await
        .expect("opens");
    services
}
