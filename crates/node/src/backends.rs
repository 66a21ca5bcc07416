//! The backends a server runs on, built from its configuration: the executor's store and the
//! flows and trigger states (memory, SQLite, PostgreSQL or MySQL), internal storage (memory or local
//! folder) and the KV store over it.

use std::sync::Arc;

use peregrine_ports::kv::StorageKv;
use peregrine_ports::lease::{ExecutorLease, PartitionLeases};
use peregrine_ports::memory::{MemoryExecutions, MemoryFlows, MemoryStorage, MemoryTriggers};
use peregrine_ports::queue::OutboxQueue;
use peregrine_ports::repository::FlowRepository;
use peregrine_ports::storage::Storage;
use peregrine_ports::store::ExecutionBackend;
use peregrine_ports::triggers::TriggerStore;

use crate::config::{
    ConfigError, Durability, RepositoryType, RetentionConfig, ServerConfig, StorageType,
};
use crate::runtime::RuntimeOptions;

/// How many ended executions a server keeps in memory (older ones are read from the store).
pub const KEEP_FINISHED: usize = 1_000;

#[derive(Clone)]
pub struct Backends {
    pub store: Arc<dyn ExecutionBackend>,
    pub flows: Arc<dyn FlowRepository>,
    pub storage: Arc<dyn Storage>,
    /// The scheduler's trigger states, in the same database as the executions.
    pub triggers: Arc<dyn TriggerStore>,
    /// Ended executions kept in memory; `usize::MAX` keeps every one (memory backends).
    pub keep_finished: usize,
    /// Task runs this process runs at once; 0 when workers run in other processes only.
    pub worker_slots: usize,
    /// The outbox as a queue between processes: set for databases several processes share.
    pub queue: Option<Arc<dyn OutboxQueue>>,
    /// The executor's lease: set for databases several executors may share.
    pub lease: Option<Arc<dyn ExecutorLease>>,
    /// The leases of partitions, for executors sharing the load on such a database.
    pub partition_leases: Option<Arc<dyn PartitionLeases>>,
    /// Set when this process's executor shares the load: the number of partitions.
    pub partitions: Option<u16>,
    /// How long ended executions and log lines are kept.
    pub retention: RetentionConfig,
    /// What the server says it runs on, for its ready line.
    pub description: String,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl Backends {
    /// Everything in memory: lost when the process stops.
    pub fn memory() -> Self {
        Self {
            store: Arc::new(MemoryExecutions::new()),
            flows: Arc::new(MemoryFlows::new()),
            storage: Arc::new(MemoryStorage::new()),
            triggers: Arc::new(MemoryTriggers::new()),
            keep_finished: usize::MAX,
            worker_slots: 16,
            queue: None,
            lease: None,
            partition_leases: None,
            partitions: None,
            retention: RetentionConfig::default(),
            description: "state in memory: lost when the server stops".into(),
        }
    }

    /// Opens the backends a configuration names (creating folders and the database).
    pub async fn open(config: &ServerConfig) -> Result<Self, ConfigError> {
        // Kept beside the executions: the database arms replace them.
        let mut triggers: Arc<dyn TriggerStore> = Arc::new(MemoryTriggers::new());
        let mut queue: Option<Arc<dyn OutboxQueue>> = None;
        let mut lease: Option<Arc<dyn ExecutorLease>> = None;
        let mut partition_leases: Option<Arc<dyn PartitionLeases>> = None;
        let (store, flows, keep_finished, state): (
            Arc<dyn ExecutionBackend>,
            Arc<dyn FlowRepository>,
            usize,
            String,
        ) = match config.kestra.repository.kind {
            RepositoryType::Memory => (
                Arc::new(MemoryExecutions::new()),
                Arc::new(MemoryFlows::new()),
                usize::MAX,
                "state in memory".into(),
            ),
            RepositoryType::Sqlite => {
                let sqlite = &config.datasources.sqlite;
                let durability = match sqlite.durability {
                    Durability::Process => peregrine_store_sqlite::Durability::Process,
                    Durability::Machine => peregrine_store_sqlite::Durability::Machine,
                };
                let store = peregrine_store_sqlite::SqliteStore::open(&sqlite.path, durability)
                    .map_err(|error| ConfigError::Invalid(error.to_string()))?;
                let store = Arc::new(store);
                triggers = store.clone();
                (
                    store.clone(),
                    store,
                    KEEP_FINISHED,
                    format!("state in {}", sqlite.path.display()),
                )
            }
            RepositoryType::Postgres => {
                let server = postgres(config).await?;
                triggers = server.triggers;
                queue = server.queue;
                lease = server.lease;
                partition_leases = server.partition_leases;
                (
                    server.store,
                    server.flows,
                    KEEP_FINISHED,
                    server.description,
                )
            }
            RepositoryType::Mysql => {
                let server = mysql(config).await?;
                triggers = server.triggers;
                queue = server.queue;
                lease = server.lease;
                partition_leases = server.partition_leases;
                (
                    server.store,
                    server.flows,
                    KEEP_FINISHED,
                    server.description,
                )
            }
        };
        let (storage, where_files): (Arc<dyn Storage>, String) = match config.kestra.storage.kind {
            StorageType::Memory => (Arc::new(MemoryStorage::new()), "files in memory".into()),
            StorageType::Local => {
                let base = &config.kestra.storage.local.base_path;
                let options = peregrine_storage_local::LocalStorageOptions::new(base.clone());
                let storage =
                    peregrine_storage_local::LocalStorage::new(options).map_err(|error| {
                        ConfigError::Invalid(format!(
                            "kestra.storage.local.base-path {}: {error}",
                            base.display()
                        ))
                    })?;
                (Arc::new(storage), format!("files in {}", base.display()))
            }
        };
        let worker_slots = config.kestra.worker.threads;
        if worker_slots == 0 && queue.is_none() {
            return Err(ConfigError::Invalid(
                "kestra.worker.threads: 0 (no worker in this process) needs a database worker \
                 processes share: set kestra.repository.type to postgres or mysql"
                    .into(),
            ));
        }
        Ok(Self {
            store,
            flows,
            storage,
            triggers,
            keep_finished,
            worker_slots,
            queue,
            lease,
            partition_leases,
            partitions: None,
            retention: config.kestra.retention.clone(),
            description: format!("{state}, {where_files}"),
        })
    }

    /// The runtime options over these backends (secrets and `envs` from the environment).
    pub fn runtime_options(&self) -> RuntimeOptions {
        let base = RuntimeOptions::from_env();
        RuntimeOptions {
            services: peregrine_plugin_api::TaskServices {
                storage: self.storage.clone(),
                kv: Arc::new(StorageKv::new(self.storage.clone())),
                triggers: self.triggers.clone(),
                ..base.services
            },
            store: self.store.clone(),
            keep_finished: self.keep_finished,
            worker_slots: self.worker_slots.max(1),
            flows: Some(self.flows.clone()),
            queue: if self.worker_slots == 0 {
                self.queue.clone()
            } else {
                None
            },
            commands: self.queue.clone(),
            partitions: self.partitions,
            ..base
        }
    }
}

/// The ports a database server serves.
struct ServerBackends {
    store: Arc<dyn ExecutionBackend>,
    flows: Arc<dyn FlowRepository>,
    triggers: Arc<dyn TriggerStore>,
    queue: Option<Arc<dyn OutboxQueue>>,
    lease: Option<Arc<dyn ExecutorLease>>,
    partition_leases: Option<Arc<dyn PartitionLeases>>,
    description: String,
}

/// The PostgreSQL server `datasources.postgres` names, migrated.
#[cfg(feature = "postgres")]
async fn postgres(config: &ServerConfig) -> Result<ServerBackends, ConfigError> {
    use peregrine_store_postgres::{PostgresOptions, PostgresStore};
    let datasource = &config.datasources.postgres;
    let url = datasource.connection_url("datasources.postgres")?;
    let options = PostgresOptions {
        max_connections: datasource.maximum_pool_size.max(1),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect(&url, options)
        .await
        .map_err(|error| ConfigError::Invalid(format!("datasources.postgres: {error}")))?;
    let store = Arc::new(store);
    Ok(ServerBackends {
        store: store.clone(),
        flows: store.clone(),
        triggers: store.clone(),
        queue: Some(store.clone()),
        lease: Some(store.clone()),
        partition_leases: Some(store),
        description: format!("state in PostgreSQL at {}", server_of(&url)),
    })
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &ServerConfig) -> Result<ServerBackends, ConfigError> {
    Err(ConfigError::Invalid(
        "kestra.repository.type: postgres is not available in this build (feature postgres)".into(),
    ))
}

/// The MySQL (or MariaDB) server `datasources.mysql` names, migrated.
#[cfg(feature = "mysql")]
async fn mysql(config: &ServerConfig) -> Result<ServerBackends, ConfigError> {
    use peregrine_store_mysql::{MysqlOptions, MysqlStore};
    let datasource = &config.datasources.mysql;
    let url = datasource.connection_url("datasources.mysql")?;
    let options = MysqlOptions {
        max_connections: datasource.maximum_pool_size.max(1),
        ..MysqlOptions::default()
    };
    let store = MysqlStore::connect(&url, options)
        .await
        .map_err(|error| ConfigError::Invalid(format!("datasources.mysql: {error}")))?;
    let store = Arc::new(store);
    Ok(ServerBackends {
        store: store.clone(),
        flows: store.clone(),
        triggers: store.clone(),
        queue: Some(store.clone()),
        lease: Some(store.clone()),
        partition_leases: Some(store),
        description: format!("state in MySQL at {}", server_of(&url)),
    })
}

#[cfg(not(feature = "mysql"))]
async fn mysql(_: &ServerConfig) -> Result<ServerBackends, ConfigError> {
    Err(ConfigError::Invalid(
        "kestra.repository.type: mysql is not available in this build (feature mysql)".into(),
    ))
}

/// The host, port and database of a URL, without its user and password.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn server_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    rest.split('?').next().unwrap_or(rest)
}
