//! Opening connections: the write connection's settings and the pool of read connections.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use peregrine_ports::repository::Error;
use rusqlite::{Connection, OpenFlags};

/// How far a commit is flushed before it returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Survives the death of the process (kill -9); the last commits may be lost if the machine
    /// loses power (`synchronous = NORMAL` in WAL mode).
    #[default]
    Process,
    /// Survives a power loss too: every commit waits for the disk (`synchronous = FULL`).
    Machine,
}

pub(crate) fn open_writer(path: &PathBuf, durability: Durability) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::Process => "NORMAL",
        Durability::Machine => "FULL",
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

fn open_reader(path: &PathBuf) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

/// Read-only connections, opened on demand and kept for reuse.
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// How many idle read connections are kept.
const IDLE_READERS: usize = 4;

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `work` on a read connection, off the async threads.
    pub(crate) async fn read<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        let pool = self.clone();
        let task = tokio::task::spawn_blocking(move || {
            let idle = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            let connection = match idle {
                Some(connection) => connection,
                None => open_reader(&pool.path)?,
            };
            let result = work(&connection);
            if let Ok(mut idle) = pool.idle.lock()
                && idle.len() < IDLE_READERS
            {
                idle.push(connection);
            }
            result
        });
        match task.await {
            Ok(result) => result.map_err(crate::backend),
            Err(error) => Err(Error::Backend(format!("sqlite reader stopped: {error}"))),
        }
    }
}
