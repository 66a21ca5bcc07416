//! The PostgreSQL backend: the executor's store (executions, task runs, frames, outbox), flows
//! with revisions, logs and the scheduler's trigger states, in one database that several
//! processes may share.
//!
//! Same data model as the embedded SQLite backend: one table per concept, documents as JSON
//! text (kept as written, key order included), and a commit writes only the rows it carries,
//! batched into one statement per table. Each commit is one transaction, durable when it
//! returns (`synchronous_commit` as the server has it: on by default). Nothing assumes one
//! process: trigger states are conditional writes on their revision, new flow revisions are
//! inserts that lose cleanly to a concurrent writer, and migrations run under an advisory lock.

mod clock;
mod executions;
mod flows;
mod lease;
mod logs;
mod partition_lease;
mod partitions;
mod queue;
mod schema;
mod triggers;

use std::str::FromStr;
use std::time::Duration;

use peregrine_ports::repository::Error;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// How the pool of connections is sized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections open at most at once.
    pub max_connections: u32,
    /// How long a request waits for a free connection (or for a new one to open).
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A PostgreSQL database serving every store port; cheap to clone (a handle on one pool).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    notices: std::sync::Arc<queue::Notices>,
    /// Set by `fence_commits`: every commit checks it still holds the executor's lease.
    fence: std::sync::Arc<std::sync::Mutex<Option<peregrine_ports::lease::Fence>>>,
    /// Set by `fence_partitions`: every commit checks it holds the partitions it touches.
    partition_fence:
        std::sync::Arc<std::sync::Mutex<Option<peregrine_ports::lease::PartitionFence>>>,
    /// How many partitions executions are spread over (fixed by the database).
    partitions: u16,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// A failure to reach or migrate the database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid postgres url: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot connect to postgres: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the postgres schema to version {version}: {source}")]
    Migrate { version: usize, source: sqlx::Error },
    #[error("cannot give partitions to the rows written before they existed: {0}")]
    Partitions(String),
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?options[search_path]=x`)
    /// and brings the schema up to date: tables go to the connection's current schema.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, OpenError> {
        let connect_options = PgConnectOptions::from_str(url).map_err(OpenError::Url)?;
        Self::connect_with(connect_options, options).await
    }

    /// Like [`PostgresStore::connect`], with connection options built by the caller.
    pub async fn connect_with(
        connect_options: PgConnectOptions,
        options: PostgresOptions,
    ) -> Result<Self, OpenError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // No ping before each checkout: a connection the server dropped fails its next
            // statement, the commit returns that error (the runtime retries it) and sqlx's
            // ping on release closes the connection so the pool opens a new one.
            .test_before_acquire(false)
            .connect_with(connect_options)
            .await
            .map_err(OpenError::Connect)?;
        schema::migrate(&pool).await?;
        let failed = |error: Failure| OpenError::Partitions(error.to_string());
        let partitions = partitions::count(&pool).await.map_err(failed)?;
        partitions::backfill(&pool, partitions)
            .await
            .map_err(failed)?;
        Ok(Self {
            pool,
            notices: std::sync::Arc::default(),
            fence: std::sync::Arc::default(),
            partition_fence: std::sync::Arc::default(),
            partitions,
        })
    }

    /// The pool, for callers that share it (health checks, metrics).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// A failure inside the backend, turned into a port error at the trait boundary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error("{0}")]
    Sql(#[from] sqlx::Error),
    #[error(
        "fenced: the executor lease of {} (epoch {}) is now held by another executor",
        .0.owner,
        .0.epoch
    )]
    Fenced(peregrine_ports::lease::Fence),
    #[error("{0}")]
    PartitionFenced(String),
    #[error("invalid document: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Fenced(_) | Failure::PartitionFenced(_) => {
                Error::Conflict(format!("postgres: {failure}"))
            }
            _ => Error::Backend(format!("postgres: {failure}")),
        }
    }
}

/// The backend's result, turned into the port's.
pub(crate) fn answer<T>(result: Result<T, Failure>) -> Result<T, Error> {
    result.map_err(Error::from)
}

pub(crate) fn to_text<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    Ok(serde_json::to_string(value)?)
}

pub(crate) fn from_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Failure> {
    Ok(serde_json::from_str(text)?)
}

/// Instants are stored as microseconds since the epoch (`BIGINT`).
pub(crate) fn micros(instant: jiff::Timestamp) -> i64 {
    instant.as_microsecond()
}

pub(crate) fn instant(micros: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_microsecond(micros).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Adds `column` is `namespace` or one of its children, as a range the column's index serves
/// (key columns use the `C` collation, so `.` sorts right before `/`).
pub(crate) fn push_namespace_tree(
    query: &mut sqlx::QueryBuilder<sqlx::Postgres>,
    column: &str,
    namespace: &str,
) {
    query
        .push(format!("({column} = "))
        .push_bind(namespace.to_string())
        .push(format!(" OR ({column} >= "))
        .push_bind(format!("{namespace}."))
        .push(format!(" AND {column} < "))
        .push_bind(format!("{namespace}/"))
        .push("))");
}
