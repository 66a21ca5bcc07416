//! Internal storage in a sorted map.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::future::BoxFuture;
use crate::storage::{Error, FileInfo, MAX_OBJECT_BYTES, Storage, StoragePath};

type Files = BTreeMap<StoragePath, Arc<Vec<u8>>>;

/// [`Storage`] in memory; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct MemoryStorage {
    files: Mutex<Files>,
    max_object_bytes: u64,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::with_max_object_bytes(MAX_OBJECT_BYTES)
    }

    /// A store refusing objects over `limit` bytes.
    pub fn with_max_object_bytes(limit: u64) -> Self {
        Self {
            files: Mutex::default(),
            max_object_bytes: limit,
        }
    }

    fn files(&self) -> MutexGuard<'_, Files> {
        // No operation can leave the map half-changed, so a poisoned lock is still consistent.
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The files below `prefix`: in path order, they all sit in the run of paths that start
    /// with the prefix text (which also holds siblings such as `/a/bc` for `/a/b`).
    fn under<'a>(
        files: &'a Files,
        prefix: &'a StoragePath,
    ) -> impl Iterator<Item = (&'a StoragePath, &'a Arc<Vec<u8>>)> {
        files
            .range(prefix.clone()..)
            .take_while(move |(path, _)| path.as_str().starts_with(prefix.as_str()))
            .filter(move |(path, _)| path.is_under(prefix))
    }
}

impl Storage for MemoryStorage {
    fn put<'a>(
        &'a self,
        path: &'a StoragePath,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let size = bytes.len() as u64;
            if size > self.max_object_bytes {
                return Err(Error::TooLarge {
                    uri: path.uri(),
                    size,
                    limit: self.max_object_bytes,
                });
            }
            self.files().insert(path.clone(), Arc::new(bytes));
            Ok(())
        })
    }

    fn get<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        Box::pin(async move {
            let file = self.files().get(path).cloned();
            file.map(|bytes| bytes.as_ref().clone())
                .ok_or_else(|| Error::NotFound(path.uri()))
        })
    }

    fn size<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(async move {
            self.files()
                .get(path)
                .map(|bytes| bytes.len() as u64)
                .ok_or_else(|| Error::NotFound(path.uri()))
        })
    }

    fn delete<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move { Ok(self.files().remove(path).is_some()) })
    }

    fn list<'a>(&'a self, prefix: &'a StoragePath) -> BoxFuture<'a, Result<Vec<FileInfo>, Error>> {
        Box::pin(async move {
            let files = self.files();
            Ok(Self::under(&files, prefix)
                .map(|(path, bytes)| FileInfo {
                    path: path.clone(),
                    size: bytes.len() as u64,
                })
                .collect())
        })
    }

    fn delete_prefix<'a>(
        &'a self,
        prefix: &'a StoragePath,
    ) -> BoxFuture<'a, Result<Vec<StoragePath>, Error>> {
        Box::pin(async move {
            let mut files = self.files();
            let doomed: Vec<StoragePath> = Self::under(&files, prefix)
                .map(|(path, _)| path.clone())
                .collect();
            for path in &doomed {
                files.remove(path);
            }
            Ok(doomed)
        })
    }
}
