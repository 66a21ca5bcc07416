//! Internal storage: the files of executions (task outputs, inputs), namespace files and the
//! key-value store, addressed by `kestra:///` URIs.
//!
//! Objects are moved whole, as bytes in memory: a backend refuses objects over
//! [`MAX_OBJECT_BYTES`] (or its own configured limit) with [`Error::TooLarge`] rather than run
//! the process out of memory. Streaming variants (`get_stream`/`put_stream` with default
//! implementations on top of these methods) can be added later without breaking backends.

mod hashing;
mod layout;
mod path;

pub use hashing::hash_to_string;
pub use layout::{
    StorageContext, flow_prefix, kv_prefix, namespace_as_path, namespace_files_prefix, slugify,
};
pub use path::{SCHEME, StoragePath};

use crate::future::BoxFuture;

/// The default limit on one object moved in memory: 256 MiB.
pub const MAX_OBJECT_BYTES: u64 = 256 * 1024 * 1024;

/// Why a storage operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("invalid internal storage path '{path}': {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("file '{0}' not found in internal storage")]
    NotFound(String),
    #[error("file '{uri}' has {size} bytes, over the {limit}-byte limit of in-memory transfers")]
    TooLarge { uri: String, size: u64, limit: u64 },
    #[error("internal storage failed on '{uri}': {message}")]
    Io { uri: String, message: String },
}

/// A stored file, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub path: StoragePath,
    pub size: u64,
}

/// Object storage of whole files.
///
/// The store is a flat map from [`StoragePath`] to bytes: directories are only prefixes (a
/// backend may create and keep empty ones; they are never listed). Storing a file at a path that
/// is also a prefix of other files (`/a` and `/a/b`) is unspecified: backends may refuse it.
pub trait Storage: Send + Sync {
    /// Writes `bytes` at `path`, replacing any previous file. Atomic: a concurrent reader sees
    /// the old content or the new one whole, never a part. Idempotent.
    fn put<'a>(&'a self, path: &'a StoragePath, bytes: Vec<u8>)
    -> BoxFuture<'a, Result<(), Error>>;

    /// The whole content of the file; [`Error::NotFound`] when there is none.
    fn get<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<Vec<u8>, Error>>;

    /// The size of the file in bytes; [`Error::NotFound`] when there is none.
    fn size<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<u64, Error>>;

    /// True when a file is stored at `path` (a mere prefix of other files does not count).
    fn exists<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            match self.size(path).await {
                Ok(_) => Ok(true),
                Err(Error::NotFound(_)) => Ok(false),
                Err(error) => Err(error),
            }
        })
    }

    /// Deletes the file; returns whether there was one. Idempotent.
    fn delete<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<bool, Error>>;

    /// Every file below the directory `prefix` (at any depth), sorted by path. A file stored at
    /// `prefix` itself is not included; a prefix with no files gives an empty list.
    fn list<'a>(&'a self, prefix: &'a StoragePath) -> BoxFuture<'a, Result<Vec<FileInfo>, Error>>;

    /// Deletes every file below the directory `prefix`; returns their paths, sorted.
    fn delete_prefix<'a>(
        &'a self,
        prefix: &'a StoragePath,
    ) -> BoxFuture<'a, Result<Vec<StoragePath>, Error>>;
}
