use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use peregrine_model::execution::TaskRun;
use peregrine_ports::memory::MemoryStorage;
use serde_json::json;

use super::*;

/// A fresh folder of its own below the temporary directory.
fn scratch(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!(
        "peregrine-handover-{name}-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&folder).expect("created");
    folder
}

fn run() -> TaskRun {
    serde_json::from_value(json!({
        "id": "child", "executionId": "exec1", "namespace": "company.team",
        "flowId": "wd", "taskId": "step",
        "state": {"current": "RUNNING", "histories": []},
    }))
    .expect("a task run")
}

/// A folder as a task leaves it: nested files, an executable script, an empty directory, a
/// hidden one, and a link pointing outside.
fn fill(folder: &Path) {
    std::fs::create_dir_all(folder.join("repo/.git")).expect("dirs");
    std::fs::create_dir_all(folder.join("empty")).expect("dirs");
    std::fs::write(folder.join("repo/.git/HEAD"), "ref: main\n").expect("file");
    std::fs::write(folder.join("data.csv"), "a,b\n1,2\n").expect("file");
    let script = folder.join("run.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").expect("file");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("mode");
    std::os::unix::fs::symlink("/usr/bin/env", folder.join("python")).expect("link");
    let locked = folder.join("locked");
    std::fs::create_dir_all(&locked).expect("dirs");
    std::fs::write(locked.join("module.go"), "package m\n").expect("file");
    std::os::unix::fs::symlink("module.go", locked.join("alias.go")).expect("link");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("mode");
}

fn assert_filled(folder: &Path) {
    let read = |name: &str| std::fs::read_to_string(folder.join(name)).expect(name);
    assert_eq!(read("repo/.git/HEAD"), "ref: main\n");
    assert_eq!(read("data.csv"), "a,b\n1,2\n");
    let mode = std::fs::metadata(folder.join("run.sh"))
        .expect("script")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "the script stays executable");
    assert!(folder.join("empty").is_dir(), "empty directories are kept");
    let link = std::fs::read_link(folder.join("python")).expect("a link");
    assert_eq!(link, Path::new("/usr/bin/env"), "links keep their target");
    let locked = folder.join("locked");
    assert_eq!(
        read("locked/alias.go"),
        "package m\n",
        "a link in a read-only directory"
    );
    let mode = std::fs::metadata(&locked)
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o555, "a read-only directory stays read-only");
}

#[test]
fn a_name_that_is_not_utf8_is_refused_with_its_path() {
    use std::os::unix::ffi::OsStrExt;
    let folder = scratch("names");
    let odd = folder.join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    std::fs::write(&odd, "x").expect("file");
    let refused = pack(&folder, false).expect_err("refused");
    assert!(refused.contains("not UTF-8"), "{refused}");
    let _ = remove_folder(&folder);
}

#[tokio::test]
async fn the_next_worker_finds_the_folder_as_the_last_task_left_it() {
    let storage = MemoryStorage::new();
    let handover = Handover::of(&run(), "wd1").expect("paths");
    let (first, second) = (scratch("first"), scratch("second"));
    let (here, there) = (first.join("wd1"), second.join("wd1"));
    let (marker_here, marker_there) = (first.join("wd1.restored"), second.join("wd1.restored"));

    assert!(
        !handover
            .bring(&storage, &there, &marker_there)
            .await
            .expect("read"),
        "nothing saved before the first task"
    );
    fill(&here);
    handover.save(&storage, &here, false).await.expect("saved");
    assert!(
        handover
            .bring(&storage, &there, &marker_there)
            .await
            .expect("brought")
    );
    assert_filled(&there);
    assert!(
        marker_there.exists(),
        "unchanged cache: the restore marker is kept"
    );

    // A task on the other host changes the folder; the first host's stale copy is replaced.
    std::fs::write(here.join("local.txt"), "stale").expect("write");
    std::fs::write(there.join("data.csv"), "changed").expect("write");
    handover.save(&storage, &there, true).await.expect("saved");
    assert!(
        handover
            .bring(&storage, &here, &marker_here)
            .await
            .expect("brought")
    );
    let content = std::fs::read_to_string(here.join("data.csv")).expect("read");
    assert_eq!(content, "changed");
    assert!(
        !marker_here.exists(),
        "changed cache: saved when the folder closes"
    );
    assert!(!here.join("local.txt").exists(), "replaced, not merged");

    for folder in [first, second] {
        remove_folder(&folder).expect("removed");
    }
}
