//! Set-up shared by the integration tests.

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
