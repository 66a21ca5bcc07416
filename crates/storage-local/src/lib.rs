//! Internal storage on the local filesystem: the file `kestra:///a/b/c.txt` is
//! `{base_path}/a/b/c.txt`.
//!
//! Writes are atomic: bytes go to a temporary file under `{base_path}/.peregrine-tmp`, are
//! synced, then renamed into place, so a reader never sees a partial file. All file I/O runs on
//! tokio's blocking pool, never on the async runtime's threads. The base path belongs to
//! Peregrine: symbolic links found there are not followed when listing.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use peregrine_ports::future::BoxFuture;
use peregrine_ports::storage::{Error, FileInfo, MAX_OBJECT_BYTES, Storage, StoragePath};

/// Where temporary files are written before being renamed into place. No namespace can start
/// with a dot, so no storage path collides with it.
const TEMP_DIR: &str = ".peregrine-tmp";

#[derive(Clone, Debug)]
pub struct LocalStorageOptions {
    /// The directory holding every file.
    pub base_path: PathBuf,
    /// The largest object read or written in one piece.
    pub max_object_bytes: u64,
}

impl LocalStorageOptions {
    pub fn new(base_path: impl Into<PathBuf>) -> Self {
        Self {
            base_path: base_path.into(),
            max_object_bytes: MAX_OBJECT_BYTES,
        }
    }
}

/// [`Storage`] in a local directory; cheap to clone.
#[derive(Clone, Debug)]
pub struct LocalStorage {
    root: Arc<Path>,
    max_object_bytes: u64,
}

impl LocalStorage {
    /// Opens (creating if needed) the base directory.
    pub fn new(options: LocalStorageOptions) -> io::Result<Self> {
        fs::create_dir_all(options.base_path.join(TEMP_DIR))?;
        Ok(Self {
            root: options.base_path.into(),
            max_object_bytes: options.max_object_bytes,
        })
    }

    /// The file behind a storage path.
    fn file(&self, path: &StoragePath) -> Result<PathBuf, Error> {
        let mut file = self.root.to_path_buf();
        for (index, segment) in path.segments().enumerate() {
            if index == 0 && segment == TEMP_DIR {
                return Err(Error::InvalidPath {
                    path: path.to_string(),
                    reason: "this directory is reserved for temporary files",
                });
            }
            file.push(segment);
        }
        Ok(file)
    }

    /// Runs blocking file work on the blocking pool.
    async fn blocking<T, F>(&self, path: &StoragePath, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(Context) -> Result<T, Error> + Send + 'static,
    {
        let context = Context {
            root: self.root.clone(),
            file: self.file(path)?,
            path: path.clone(),
            max_object_bytes: self.max_object_bytes,
        };
        let uri = path.uri();
        tokio::task::spawn_blocking(move || work(context))
            .await
            .map_err(|error| Error::Io {
                uri,
                message: error.to_string(),
            })?
    }
}

/// What a blocking operation needs, owned so it can move to the blocking pool.
struct Context {
    root: Arc<Path>,
    file: PathBuf,
    path: StoragePath,
    max_object_bytes: u64,
}

impl Context {
    fn io(&self, error: io::Error) -> Error {
        if error.kind() == io::ErrorKind::NotFound {
            Error::NotFound(self.path.uri())
        } else {
            Error::Io {
                uri: self.path.uri(),
                message: error.to_string(),
            }
        }
    }

    /// The size of the regular file, or NotFound (a directory is only a prefix).
    fn size(&self) -> Result<u64, Error> {
        let metadata = fs::metadata(&self.file).map_err(|error| self.io(error))?;
        if metadata.is_file() {
            Ok(metadata.len())
        } else {
            Err(Error::NotFound(self.path.uri()))
        }
    }

    fn too_large(&self, size: u64) -> Result<(), Error> {
        if size > self.max_object_bytes {
            return Err(Error::TooLarge {
                uri: self.path.uri(),
                size,
                limit: self.max_object_bytes,
            });
        }
        Ok(())
    }

    fn put(&self, bytes: &[u8]) -> Result<(), Error> {
        self.too_large(bytes.len() as u64)?;
        let temp = self.root.join(TEMP_DIR).join(unique_name());
        let written = write_synced(&temp, bytes).and_then(|()| self.move_into_place(&temp));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written.map_err(|error| Error::Io {
            uri: self.path.uri(),
            message: error.to_string(),
        })
    }

    /// Renames the temporary file onto the target, creating its directories; retried once
    /// when a concurrent `delete_prefix` removed a directory in between.
    fn move_into_place(&self, temp: &Path) -> io::Result<()> {
        let parent = self.file.parent().unwrap_or(&self.root);
        let mut result = Ok(());
        for _ in 0..2 {
            result = fs::create_dir_all(parent).and_then(|()| fs::rename(temp, &self.file));
            match &result {
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                _ => break,
            }
        }
        result
    }

    fn get(&self) -> Result<Vec<u8>, Error> {
        self.too_large(self.size()?)?;
        fs::read(&self.file).map_err(|error| self.io(error))
    }

    fn delete(&self) -> Result<bool, Error> {
        match self.size() {
            Ok(_) => {}
            Err(Error::NotFound(_)) => return Ok(false),
            Err(error) => return Err(error),
        }
        match fs::remove_file(&self.file) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(self.io(error)),
        }
    }

    fn list(&self) -> Result<Vec<FileInfo>, Error> {
        let mut files = Vec::new();
        match walk(&self.file, &self.path, &mut files) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) if error.kind() == io::ErrorKind::NotADirectory => {}
            Err(error) => return Err(self.io(error)),
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    fn delete_prefix(&self) -> Result<Vec<StoragePath>, Error> {
        let files = self.list()?;
        let mut deleted = Vec::with_capacity(files.len());
        for file in files {
            let on_disk = self.root.join(file.path.as_str().trim_start_matches('/'));
            match fs::remove_file(&on_disk) {
                Ok(()) => deleted.push(file.path),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(self.io(error)),
            }
        }
        remove_empty_directories(&self.file);
        Ok(deleted)
    }
}

fn write_synced(temp: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::File::create(temp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A name no other write of this process or another one uses at the same time.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Collects the regular files below `directory` (symbolic links are skipped).
fn walk(directory: &Path, prefix: &StoragePath, files: &mut Vec<FileInfo>) -> io::Result<()> {
    for entry in fs::read_dir(directory)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Ok(path) = prefix.join(&name) else {
            continue;
        };
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            walk(&entry.path(), &path, files)?;
        } else if file_type.is_file() {
            files.push(FileInfo {
                path,
                size: entry.metadata()?.len(),
            });
        }
    }
    Ok(())
}

/// Removes the directories left empty below (and including) `directory`, deepest first; a
/// directory that gained a file meanwhile stays.
fn remove_empty_directories(directory: &Path) {
    if let Ok(entries) = fs::read_dir(directory) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_empty_directories(&entry.path());
            }
        }
    }
    let _ = fs::remove_dir(directory);
}

impl Storage for LocalStorage {
    fn put<'a>(
        &'a self,
        path: &'a StoragePath,
        bytes: Vec<u8>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.blocking(path, move |context| context.put(&bytes)))
    }

    fn get<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<Vec<u8>, Error>> {
        Box::pin(self.blocking(path, |context| context.get()))
    }

    fn size<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(self.blocking(path, |context| context.size()))
    }

    fn delete<'a>(&'a self, path: &'a StoragePath) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.blocking(path, |context| context.delete()))
    }

    fn list<'a>(&'a self, prefix: &'a StoragePath) -> BoxFuture<'a, Result<Vec<FileInfo>, Error>> {
        Box::pin(self.blocking(prefix, |context| context.list()))
    }

    fn delete_prefix<'a>(
        &'a self,
        prefix: &'a StoragePath,
    ) -> BoxFuture<'a, Result<Vec<StoragePath>, Error>> {
        Box::pin(self.blocking(prefix, |context| context.delete_prefix()))
    }
}
