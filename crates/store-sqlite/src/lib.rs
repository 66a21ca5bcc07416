//! The embedded SQLite backend of `peregrine server local` and `standalone`: the executor's
//! store (executions, task runs, frames, outbox), flows with revisions, logs and the scheduler's
//! trigger states, in one file.
//!
//! One writer thread owns the write connection and commits whatever is waiting in one
//! transaction (group commit), each request in its own savepoint so one failure stays its own;
//! readers use a small pool of read-only connections (WAL mode lets them read while it writes).

mod connection;
mod executions;
mod flows;
mod logs;
mod schema;
mod triggers;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use peregrine_ports::repository::Error;

pub use connection::Durability;

/// A SQLite database file serving every store port.
#[derive(Clone)]
pub struct SqliteStore {
    writer: writer::Writer,
    readers: Arc<connection::ReadPool>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A failure to open the database.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the folder of the database {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SqliteStore {
    /// Opens (creating it and its folder when absent) and migrates the database at `path`.
    pub fn open(path: impl AsRef<Path>, durability: Durability) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            std::fs::create_dir_all(folder).map_err(|source| OpenError::Folder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let open_error = |source| OpenError::Open {
            path: path.clone(),
            source,
        };
        let connection = connection::open_writer(&path, durability).map_err(open_error)?;
        schema::migrate(&connection).map_err(open_error)?;
        Ok(Self {
            writer: writer::Writer::start(connection),
            readers: Arc::new(connection::ReadPool::new(path.clone())),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, Error> {
        self.readers.read(work).await
    }
}

/// A SQLite failure as a port error.
pub(crate) fn backend(error: rusqlite::Error) -> Error {
    Error::Backend(format!("sqlite: {error}"))
}

/// A document that cannot be written or read back as JSON.
pub(crate) fn json_error(error: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}
