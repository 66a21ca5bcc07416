//! The storage and key-value conformance suites, on a fresh directory per test, plus what only
//! a filesystem can get wrong.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use peregrine_ports::kv::StorageKv;
use peregrine_ports::storage::{Error, Storage, StoragePath};
use peregrine_storage_local::{LocalStorage, LocalStorageOptions};

/// A backend over a fresh directory, removed when the test ends.
struct Fixture<T> {
    backend: T,
    directory: PathBuf,
}

impl<T> Deref for Fixture<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.backend
    }
}

impl<T> Drop for Fixture<T> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A fresh directory under cargo's temporary directory for tests.
fn fresh_directory() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "storage-local-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn local_storage(max_object_bytes: Option<u64>) -> Fixture<LocalStorage> {
    let directory = fresh_directory();
    let mut options = LocalStorageOptions::new(&directory);
    if let Some(limit) = max_object_bytes {
        options.max_object_bytes = limit;
    }
    Fixture {
        backend: LocalStorage::new(options).expect("base directory"),
        directory,
    }
}

fn storage() -> Fixture<LocalStorage> {
    local_storage(None)
}

fn kv() -> Fixture<StorageKv> {
    let directory = fresh_directory();
    let storage = LocalStorage::new(LocalStorageOptions::new(&directory)).expect("base directory");
    Fixture {
        backend: StorageKv::new(Arc::new(storage)),
        directory,
    }
}

mod storage_conformance {
    peregrine_ports::storage_conformance_tests!(super::storage());
}

mod kv_conformance {
    peregrine_ports::kv_conformance_tests!(super::kv());
}

fn path(text: &str) -> StoragePath {
    StoragePath::new(text).expect("valid path")
}

#[tokio::test]
async fn files_sit_at_their_path_under_the_base_and_no_temporary_file_is_left() {
    let storage = storage();
    storage
        .put(&path("/company/team/_files/a.sql"), b"select 1".to_vec())
        .await
        .expect("put");
    let on_disk = storage.directory.join("company/team/_files/a.sql");
    assert_eq!(std::fs::read(on_disk).expect("on disk"), b"select 1");
    let temp = std::fs::read_dir(storage.directory.join(".peregrine-tmp")).expect("temp dir");
    assert_eq!(temp.count(), 0);
}

#[tokio::test]
async fn the_temporary_directory_is_out_of_reach() {
    let storage = storage();
    let reserved = path("/.peregrine-tmp/x");
    assert!(matches!(
        storage.put(&reserved, b"x".to_vec()).await,
        Err(Error::InvalidPath { .. })
    ));
}

#[tokio::test]
async fn delete_prefix_removes_the_emptied_directories() {
    let storage = storage();
    storage
        .put(&path("/ns/flow/executions/1/tasks/t/r/out"), b"x".to_vec())
        .await
        .expect("put");
    storage
        .delete_prefix(&path("/ns/flow/executions/1"))
        .await
        .expect("delete prefix");
    assert!(!storage.directory.join("ns/flow/executions/1").exists());
    assert!(storage.directory.join("ns/flow/executions").exists());
}

#[tokio::test]
async fn objects_over_the_limit_are_refused_both_ways() {
    let storage = local_storage(Some(4));
    let big = path("/big");
    assert!(matches!(
        storage.put(&big, vec![0; 5]).await,
        Err(Error::TooLarge {
            size: 5,
            limit: 4,
            ..
        })
    ));
    std::fs::write(storage.directory.join("big"), [0; 5]).expect("written behind its back");
    assert!(matches!(
        storage.get(&big).await,
        Err(Error::TooLarge {
            size: 5,
            limit: 4,
            ..
        })
    ));
}

#[tokio::test]
async fn concurrent_writes_leave_one_whole_value() {
    let storage = storage();
    let target = path("/race/file");
    let writes = (0..8u8).map(|round| {
        let storage = storage.backend.clone();
        let target = target.clone();
        tokio::spawn(async move { storage.put(&target, vec![round; 64 * 1024]).await })
    });
    for write in writes.collect::<Vec<_>>() {
        write.await.expect("joined").expect("put");
    }
    let bytes = storage.get(&target).await.expect("get");
    assert_eq!(bytes.len(), 64 * 1024);
    assert!(bytes.iter().all(|&byte| byte == bytes[0]));
}
