//! The contracts of [`Storage`].

use crate::storage::{Error, Storage, StoragePath};

fn path(text: &str) -> StoragePath {
    StoragePath::new(text).expect("conformance paths are valid")
}

async fn put(storage: &dyn Storage, at: &str, bytes: &[u8]) {
    storage
        .put(&path(at), bytes.to_vec())
        .await
        .expect("put succeeds");
}

pub async fn put_then_get_returns_the_bytes(storage: &dyn Storage) {
    let binary: Vec<u8> = (0..=255).collect();
    for (at, bytes) in [
        ("/put-get/text.txt", b"hello".to_vec()),
        ("/put-get/empty", Vec::new()),
        ("/put-get/deep/er/binary.bin", binary),
    ] {
        put(storage, at, &bytes).await;
        assert_eq!(storage.get(&path(at)).await.expect("get"), bytes, "{at}");
    }
}

pub async fn put_replaces_the_previous_content(storage: &dyn Storage) {
    put(storage, "/replace/file", b"a longer first version").await;
    put(storage, "/replace/file", b"second").await;
    assert_eq!(
        storage.get(&path("/replace/file")).await.expect("get"),
        b"second"
    );
    assert_eq!(storage.size(&path("/replace/file")).await.expect("size"), 6);
}

pub async fn missing_file_is_not_found(storage: &dyn Storage) {
    put(storage, "/missing/dir/file", b"x").await;
    for at in ["/missing/nothing", "/missing/dir"] {
        let missing = path(at);
        assert_eq!(
            storage.get(&missing).await,
            Err(Error::NotFound(missing.uri())),
            "{at}"
        );
        assert_eq!(
            storage.size(&missing).await,
            Err(Error::NotFound(missing.uri()))
        );
        assert!(!storage.exists(&missing).await.expect("exists"), "{at}");
    }
}

pub async fn exists_and_size_follow_puts_and_deletes(storage: &dyn Storage) {
    let file = path("/exists/file.csv");
    assert!(!storage.exists(&file).await.expect("exists"));
    put(storage, "/exists/file.csv", b"a,b\n1,2\n").await;
    assert!(storage.exists(&file).await.expect("exists"));
    assert_eq!(storage.size(&file).await.expect("size"), 8);
    storage.delete(&file).await.expect("delete");
    assert!(!storage.exists(&file).await.expect("exists"));
}

pub async fn delete_reports_whether_a_file_existed(storage: &dyn Storage) {
    let file = path("/delete/file");
    put(storage, "/delete/file", b"x").await;
    put(storage, "/delete/other", b"y").await;
    assert!(storage.delete(&file).await.expect("delete"));
    assert!(!storage.delete(&file).await.expect("delete again"));
    assert!(
        !storage
            .delete(&path("/delete/never"))
            .await
            .expect("delete")
    );
    assert!(
        storage
            .exists(&path("/delete/other"))
            .await
            .expect("exists")
    );
}

pub async fn list_returns_every_file_below_the_prefix_sorted(storage: &dyn Storage) {
    for at in [
        "/list/b/2.txt",
        "/list/a.txt",
        "/list/b/1/deep.txt",
        "/listing/not-below.txt",
        "/list-sibling/not-below.txt",
    ] {
        put(storage, at, at.as_bytes()).await;
    }
    let listed = storage.list(&path("/list")).await.expect("list");
    let paths: Vec<&str> = listed.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/list/a.txt", "/list/b/1/deep.txt", "/list/b/2.txt"]
    );
    for file in &listed {
        assert_eq!(file.size, file.path.as_str().len() as u64);
    }
    let nothing = storage.list(&path("/list/none")).await.expect("list");
    assert!(nothing.is_empty());
    let leaf = storage.list(&path("/list/a.txt")).await.expect("list");
    assert!(leaf.is_empty(), "a file is not below itself");
}

pub async fn delete_prefix_removes_only_files_below_the_prefix(storage: &dyn Storage) {
    for at in [
        "/purge/exec/tasks/t/1/out.txt",
        "/purge/exec/inputs/f/in.csv",
        "/purge/exec-2/keep.txt",
        "/purge/keep.txt",
    ] {
        put(storage, at, b"x").await;
    }
    let deleted = storage
        .delete_prefix(&path("/purge/exec"))
        .await
        .expect("delete prefix");
    let deleted: Vec<&str> = deleted.iter().map(StoragePath::as_str).collect();
    assert_eq!(
        deleted,
        [
            "/purge/exec/inputs/f/in.csv",
            "/purge/exec/tasks/t/1/out.txt"
        ]
    );
    let left = storage.list(&path("/purge")).await.expect("list");
    let left: Vec<&str> = left.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(left, ["/purge/exec-2/keep.txt", "/purge/keep.txt"]);
    let again = storage
        .delete_prefix(&path("/purge/exec"))
        .await
        .expect("delete prefix again");
    assert!(again.is_empty());
}

pub async fn unusual_file_names_round_trip(storage: &dyn Storage) {
    for at in [
        "/names/with space.txt",
        "/names/accentué ✓.txt",
        "/names/.hidden",
        "/names/100%.txt",
        "/names/a.b.c",
    ] {
        put(storage, at, at.as_bytes()).await;
        let by_uri = StoragePath::from_uri(&path(at).uri()).expect("uri round trip");
        assert_eq!(
            storage.get(&by_uri).await.expect("get"),
            at.as_bytes(),
            "{at}"
        );
    }
    let listed = storage.list(&path("/names")).await.expect("list");
    assert_eq!(listed.len(), 5);
}
