//! Set-up shared by the integration tests.

use peregrine_node::backends::Backends;
use peregrine_node::config::ServerConfig;

/// The backends `server local` opens on `folder`: SQLite and a storage folder.
pub fn sqlite_backends(folder: &std::path::Path) -> Backends {
    let mut config = ServerConfig::default();
    config.datasources.sqlite.path = folder.join("peregrine.db");
    config.kestra.storage.local.base_path = folder.join("storage");
    Backends::open(&config).expect("backends open")
}
