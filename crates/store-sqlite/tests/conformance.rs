//! The store and flow conformance suites on a fresh database file per test, plus what only a
//! database on disk can show: reopening keeps everything.

use std::ops::Deref;

use peregrine_store_sqlite::{Durability, SqliteStore};

/// A store on a fresh file, removed with the fixture.
struct Fixture {
    store: SqliteStore,
    _folder: tempfile::TempDir,
}

impl Deref for Fixture {
    type Target = SqliteStore;

    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

fn store() -> Fixture {
    let folder = tempfile::tempdir().expect("temporary folder");
    let store = SqliteStore::open(folder.path().join("peregrine.db"), Durability::Process)
        .expect("database opens");
    Fixture {
        store,
        _folder: folder,
    }
}

mod store_conformance {
    peregrine_ports::store_conformance_tests!(super::store());
}

mod flows_conformance {
    peregrine_ports::flows_conformance_tests!(super::store());
}

mod triggers_conformance {
    peregrine_ports::triggers_conformance_tests!(super::store());
}

#[tokio::test]
async fn reopening_the_file_keeps_flows_and_executions() {
    use peregrine_ports::repository::FlowRepository;
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};

    let folder = tempfile::tempdir().expect("temporary folder");
    let path = folder.path().join("nested").join("peregrine.db");
    {
        let store = SqliteStore::open(&path, Durability::Process).expect("opens");
        let source = "id: f\nnamespace: team\ntasks: []\n".to_string();
        store
            .save("team", "f", source, jiff::Timestamp::UNIX_EPOCH)
            .await
            .expect("saved");
        let row = OutboxRow {
            execution_id: "e".into(),
            key: "job:a".into(),
            payload: serde_json::json!({"attempt": 1}),
        };
        store
            .commit(std::sync::Arc::new(Commit {
                put: vec![row],
                ..Commit::default()
            }))
            .await
            .expect("committed");
    }
    let store = SqliteStore::open(&path, Durability::Process).expect("reopens");
    let flow = store.get("team", "f", None).await.expect("read");
    assert_eq!(flow.map(|record| record.revision), Some(1));
    assert_eq!(
        store
            .outbox(&peregrine_ports::partition::Partitions::All)
            .await
            .map(|rows| rows.len()),
        Ok(1)
    );
}
