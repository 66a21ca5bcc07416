//! The MySQL backend (MySQL 8 and MariaDB 10.11): the executor's store (executions, task runs,
//! frames, outbox), the outbox as a queue between processes (workers claim its rows with
//! leases on the database's clock), the executor's lease (commits fenced by its epoch), flows
//! with revisions, logs and the scheduler's trigger states, for servers that share one database
//! between several processes.
//!
//! The data model is the SQLite backend's: one table per concept, documents as JSON text, and a
//! step writes only what its commit carries. Every commit is one transaction; conditional
//! writes (trigger claims, new flow revisions) rely on primary keys and rows-affected counts, so
//! racing processes get exactly one winner. Connections run at READ COMMITTED: no gap locks,
//! so commits of different executions do not wait on each other.
//!
//! Durability is the server's: a commit is durable when it returns only with
//! `innodb_flush_log_at_trx_commit = 1` (the default).

mod batch;
mod clock;
mod executions;
mod flows;
mod lease;
mod load;
mod logs;
mod partition_lease;
mod partitions;
mod poll;
mod queue;
mod schema;
mod triggers;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use peregrine_ports::repository::Error;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{ConnectOptions, Executor};

pub use schema::SCHEMA_VERSION;

/// How the pool of connections is sized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MysqlOptions {
    /// At most this many connections are open at once.
    pub max_connections: u32,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl Default for MysqlOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A MySQL database serving every store port, the outbox queue and the executor's lease
/// included. Cheap to clone: clones share the pool, the queue's wake-ups and the fence their
/// commits check.
#[derive(Clone)]
pub struct MysqlStore {
    pool: MySqlPool,
    polls: Arc<poll::Polls>,
    fence: Arc<lease::SharedFence<peregrine_ports::lease::Fence>>,
    partition_fence: Arc<lease::SharedFence<peregrine_ports::lease::PartitionFence>>,
    /// How many partitions executions are spread over (fixed by the database).
    partitions: u16,
}

impl std::fmt::Debug for MysqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlStore")
            .field("size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// A failure to open the database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid mysql url: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot connect to mysql: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the mysql schema: {0}")]
    Migrate(#[source] sqlx::Error),
    #[error("cannot migrate the mysql schema: another process held the migration lock for 60 s")]
    MigrationLock,
    #[error(
        "the mysql schema is at version {found}, newer than this build knows ({known}): \
         upgrade Peregrine"
    )]
    NewerSchema { found: i64, known: i64 },
}

impl MysqlStore {
    /// Connects to `url` (`mysql://user:password@host:port/database`), then creates or migrates
    /// the tables; several processes may open the same database at once.
    pub async fn connect(url: &str, options: MysqlOptions) -> Result<Self, OpenError> {
        let connect_options = MySqlConnectOptions::from_str(url).map_err(OpenError::Url)?;
        // Migrate on a connection of its own: the migration lock belongs to the session.
        let mut connection = connect_options
            .connect()
            .await
            .map_err(OpenError::Connect)?;
        let migrated = schema::migrate(&mut connection).await;
        let _ = sqlx::Connection::close(connection).await;
        migrated?;
        let pool = MySqlPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // No ping before each checkout: a connection the server dropped fails its next
            // statement, the commit returns that error (the runtime retries it) and sqlx's
            // ping on release closes the connection so the pool opens a new one.
            .test_before_acquire(false)
            .after_connect(|connection, _| {
                Box::pin(async move {
                    connection
                        .execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                        .await
                        .map(|_| ())
                })
            })
            .connect_with(connect_options)
            .await
            .map_err(OpenError::Connect)?;
        let partitions = partitions::count(&pool).await.map_err(OpenError::Migrate)?;
        partitions::backfill(&pool, partitions)
            .await
            .map_err(OpenError::Migrate)?;
        Ok(Self {
            pool,
            polls: Arc::default(),
            fence: Arc::default(),
            partition_fence: Arc::default(),
            partitions,
        })
    }

    /// The pool, for tools and tests that query the database directly.
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Closes every connection; requests made afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A MySQL failure as a port error.
pub(crate) fn backend(error: sqlx::Error) -> Error {
    Error::Backend(format!("mysql: {error}"))
}

/// A document that cannot be written as JSON.
pub(crate) fn encode_error(error: serde_json::Error) -> Error {
    Error::Backend(format!("mysql: cannot encode a document: {error}"))
}

/// A stored document that cannot be read back.
pub(crate) fn decode_error(table: &str, error: serde_json::Error) -> Error {
    Error::Backend(format!("mysql: corrupt document in {table}: {error}"))
}

pub(crate) fn to_text<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(encode_error)
}

pub(crate) fn from_text<T: serde::de::DeserializeOwned>(
    table: &str,
    text: &str,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|error| decode_error(table, error))
}

/// `text` with the `LIKE` wildcards escaped by `|` (the escape character every statement names:
/// a backslash would depend on `NO_BACKSLASH_ESCAPES`).
fn like_escaped(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    for character in text.chars() {
        if matches!(character, '|' | '%' | '_') {
            pattern.push('|');
        }
        pattern.push(character);
    }
    pattern
}

/// A `LIKE ... ESCAPE '|'` pattern matching every text that starts with `prefix`.
pub(crate) fn like_prefix(prefix: &str) -> String {
    format!("{}%", like_escaped(prefix))
}

/// A `LIKE ... ESCAPE '|'` pattern matching every text that contains `text`.
pub(crate) fn like_contains(text: &str) -> String {
    format!("%{}%", like_escaped(text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_match_wildcards_literally() {
        assert_eq!(super::like_prefix("a_b%c|d."), "a|_b|%c||d.%");
        assert_eq!(super::like_contains("50%"), "%50|%%");
    }
}
