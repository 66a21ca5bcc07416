//! The store, queue, lease, flow and trigger conformance suites on a real MySQL server (MariaDB
//! in CI), one fresh database per test, plus what only a shared server can show: concurrent
//! opens migrate once, reopening keeps everything, ids are case-sensitive, workers claiming
//! while the executor commits never share a row, racing executors take the lease once.
//!
//! The server is `PEREGRINE_TEST_MYSQL_URL` when set, else the private one that
//! `scripts/services/mariadb` starts (and installs when needed). A server that cannot be
//! reached fails every test.

use std::ops::Deref;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use peregrine_store_mysql::{MysqlOptions, MysqlStore, SCHEMA_VERSION};
use sqlx::{Connection, Executor, MySqlConnection, Row};

/// The server's URL, its database part included; the server is started once per process.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(url) = std::env::var("PEREGRINE_TEST_MYSQL_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            return url.trim().to_string();
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services/mariadb");
        let output = std::process::Command::new(&script)
            .output()
            .expect("scripts/services/mariadb runs");
        assert!(
            output.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let url = stdout.lines().last().unwrap_or_default().trim().to_string();
        assert!(url.starts_with("mysql://"), "no url printed: {stdout}");
        url
    })
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |scheme| scheme + 3);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{root}/{database}{query}")
}

/// A database name no other test (of this process or another) uses.
fn unique_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn admin() -> MySqlConnection {
    MySqlConnection::connect(server())
        .await
        .expect("the test server answers (PEREGRINE_TEST_MYSQL_URL or scripts/services/mariadb)")
}

/// Creates a fresh database; returns its URL and name.
async fn fresh_database() -> (String, String) {
    let name = unique_name();
    let mut connection = admin().await;
    connection
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .await
        .expect("the test user may create databases");
    let _ = connection.close().await;
    (with_database(server(), &name), name)
}

fn options() -> MysqlOptions {
    MysqlOptions {
        max_connections: 4,
        ..MysqlOptions::default()
    }
}

/// A store on a fresh database, dropped with the fixture.
struct Fixture {
    store: Option<MysqlStore>,
    name: String,
}

impl Deref for Fixture {
    type Target = MysqlStore;

    fn deref(&self) -> &MysqlStore {
        self.store
            .as_ref()
            .expect("the store lives as long as the fixture")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Close the pool's sockets, then drop the database from a thread of its own: the
        // test's runtime cannot run futures while it drops.
        drop(self.store.take());
        let name = self.name.clone();
        let url = server().to_string();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut connection = MySqlConnection::connect(&url).await?;
                connection
                    .execute("SET SESSION lock_wait_timeout = 10")
                    .await?;
                connection
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name}"
                    )))
                    .await?;
                connection.close().await
            })
        });
        if let Ok(Err(error)) = dropped.join() {
            eprintln!("cannot drop test database {}: {error}", self.name);
        }
    }
}

async fn store() -> Fixture {
    let (url, name) = fresh_database().await;
    let store = MysqlStore::connect(&url, options())
        .await
        .expect("the store opens on a fresh database");
    Fixture {
        store: Some(store),
        name,
    }
}

mod store_conformance {
    peregrine_ports::store_conformance_tests!(super::store().await);
}

mod flows_conformance {
    peregrine_ports::flows_conformance_tests!(super::store().await);
}

mod triggers_conformance {
    peregrine_ports::triggers_conformance_tests!(super::store().await);
}

mod queue_conformance {
    peregrine_ports::queue_conformance_tests!(super::store().await);
}

mod lease_conformance {
    peregrine_ports::lease_conformance_tests!(super::store().await);
}

#[tokio::test]
async fn racing_opens_of_a_fresh_database_migrate_it_once() {
    let fixture = store().await;
    let (url, name) = fresh_database().await;
    let open = || MysqlStore::connect(&url, options());
    let (a, b, c) = tokio::join!(open(), open(), open());
    for opened in [a, b, c] {
        opened.expect("every racing open succeeds");
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*), CAST(MAX(version) AS SIGNED) FROM {name}.peregrine_schema"
    )))
    .fetch_one(fixture.pool())
    .await
    .expect("the version table is there");
    let steps: i64 = row.get(0);
    let version: i64 = row.get(1);
    assert_eq!((steps, version), (SCHEMA_VERSION, SCHEMA_VERSION));
    let mut connection = admin().await;
    connection
        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .await
        .expect("dropped");
}

#[tokio::test]
async fn a_step_cut_short_before_its_row_runs_again() {
    let fixture = store().await;
    // As if the last step made its index, then the process died before recording it.
    sqlx::query("DELETE FROM peregrine_schema WHERE version = ?")
        .bind(SCHEMA_VERSION)
        .execute(fixture.pool())
        .await
        .expect("the last step is forgotten");
    let url = with_database(server(), &fixture.name);
    let reopened = MysqlStore::connect(&url, options())
        .await
        .expect("the step runs again over what it already made");
    let version: i64 =
        sqlx::query_scalar("SELECT CAST(MAX(version) AS SIGNED) FROM peregrine_schema")
            .fetch_one(reopened.pool())
            .await
            .expect("the version is read");
    assert_eq!(version, SCHEMA_VERSION);
    reopened.close().await;
}

fn execution(
    id: &str,
    state: peregrine_model::state::State,
) -> peregrine_model::execution::Execution {
    use peregrine_model::execution::{Execution, ExecutionMetadata, StateHistory};
    let at = jiff::Timestamp::from_second(1_700_000_000).expect("valid instant");
    Execution {
        id: id.into(),
        namespace: "team".into(),
        flow_id: "f".into(),
        flow_revision: 1,
        state: StateHistory::new(state, at),
        task_run_list: Vec::new(),
        inputs: None,
        outputs: None,
        labels: Vec::new(),
        variables: None,
        parent_id: None,
        original_id: None,
        trigger: None,
        metadata: ExecutionMetadata {
            attempt_number: 1,
            original_created_date: at,
        },
        schedule_date: None,
        deleted: false,
    }
}

#[tokio::test]
async fn reopening_the_database_keeps_flows_and_executions() {
    use peregrine_model::state::State;
    use peregrine_ports::repository::FlowRepository;
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow, Transition};

    let fixture = store().await;
    let url = with_database(server(), &fixture.name);
    {
        let store = MysqlStore::connect(&url, options()).await.expect("opens");
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
        let transition = Transition {
            execution_id: "e".into(),
            header: Some(execution("e", State::Running)),
            ..Transition::default()
        };
        store
            .commit(std::sync::Arc::new(Commit {
                transitions: vec![transition],
                put: vec![row],
                ..Commit::default()
            }))
            .await
            .expect("committed");
        // As if written before rows had partitions: reopening gives them theirs.
        for table in ["executions", "outbox"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET part = -1")))
                .execute(store.pool())
                .await
                .expect("partitions cleared");
        }
        store.close().await;
    }
    let store = MysqlStore::connect(&url, options()).await.expect("reopens");
    let own = peregrine_ports::partition::Partitions::Only(vec![peregrine_ports::partition::of(
        "e",
        store.partition_count(),
    )]);
    assert_eq!(store.outbox(&own).await.map(|rows| rows.len()), Ok(1));
    assert_eq!(store.unfinished(&own).await.map(|found| found.len()), Ok(1));
    let flow = store.get("team", "f", None).await.expect("read");
    assert_eq!(flow.map(|record| record.revision), Some(1));
    assert_eq!(
        store
            .outbox(&peregrine_ports::partition::Partitions::All)
            .await
            .map(|rows| rows.len()),
        Ok(1)
    );
    let unfinished = store
        .unfinished(&peregrine_ports::partition::Partitions::All)
        .await
        .expect("read");
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].execution, execution("e", State::Running));
}

#[tokio::test]
async fn ids_are_case_sensitive() {
    use peregrine_ports::repository::{FlowQuery, FlowRepository};

    let store = store().await;
    let now = jiff::Timestamp::UNIX_EPOCH;
    for id in ["flow", "Flow", "FLOW"] {
        let saved = store
            .save("team", id, format!("id: {id}\nnamespace: team\n"), now)
            .await
            .expect("saved");
        assert_eq!(saved.revision, 1, "{id} is a flow of its own");
    }
    let listed = store.list(&FlowQuery::default()).await.expect("listed");
    let ids: Vec<&str> = listed.iter().map(|record| record.id.as_str()).collect();
    assert_eq!(ids, ["FLOW", "Flow", "flow"]);
    assert_eq!(store.get("Team", "flow", None).await, Ok(None));
}

#[tokio::test]
async fn two_stores_saving_one_flow_get_one_revision_each() {
    use peregrine_ports::repository::FlowRepository;

    let first = store().await;
    let url = with_database(server(), &first.name);
    let second = MysqlStore::connect(&url, options()).await.expect("opens");
    let now = jiff::Timestamp::UNIX_EPOCH;
    let source = |index: usize| format!("id: f\nnamespace: team\n# {index}\n");
    let (a, b, c, d) = tokio::join!(
        first.save("team", "f", source(1), now),
        second.save("team", "f", source(2), now),
        first.save("team", "f", source(3), now),
        second.save("team", "f", source(4), now),
    );
    let mut revisions: Vec<u32> = [a, b, c, d]
        .into_iter()
        .map(|saved| saved.expect("every save succeeds").revision)
        .collect();
    revisions.sort_unstable();
    assert_eq!(revisions, [1, 2, 3, 4]);
    let stored = first.revisions("team", "f").await.expect("read");
    assert_eq!(stored.len(), 4);
}

#[tokio::test]
async fn concurrent_commits_of_many_executions_all_land() {
    use peregrine_model::state::State;
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow, Transition};

    let store = store().await;
    let row = |execution_id: &str, key: &str| OutboxRow {
        execution_id: execution_id.into(),
        key: key.into(),
        payload: serde_json::json!({"key": key}),
    };
    let step = |id: &str, state, put: Vec<OutboxRow>, done_prefix: Vec<(String, String)>| {
        std::sync::Arc::new(Commit {
            transitions: vec![Transition {
                execution_id: id.into(),
                header: Some(execution(id, state)),
                ..Transition::default()
            }],
            put,
            done_prefix,
            ..Commit::default()
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..24 {
        let store = MysqlStore::clone(&store);
        let id = format!("e{index:02}");
        let started = step(
            &id,
            State::Running,
            vec![row(&id, "job:a"), row(&id, "job:b")],
            Vec::new(),
        );
        let ended = step(
            &id,
            State::Success,
            vec![row(&id, "ended")],
            vec![(id.clone(), "job:".into())],
        );
        tasks.spawn(async move {
            store.commit(started).await?;
            store.commit(ended).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("the task ran").expect("every commit lands");
    }
    let rows = store
        .outbox(&peregrine_ports::partition::Partitions::All)
        .await
        .expect("outbox");
    assert_eq!(rows.len(), 24);
    assert!(rows.iter().all(|row| row.key == "ended"));
    assert_eq!(
        store
            .unfinished(&peregrine_ports::partition::Partitions::All)
            .await
            .map(|found| found.len()),
        Ok(0)
    );
}

#[tokio::test]
async fn workers_claiming_while_the_executor_commits_never_share_a_row() {
    use std::collections::HashSet;
    use std::time::Duration;

    use peregrine_ports::queue::OutboxQueue;
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};

    let store = store().await;
    let job = |execution_id: &str, step: usize| OutboxRow {
        execution_id: execution_id.into(),
        key: format!("job:{step}"),
        payload: serde_json::json!({"step": step}),
    };
    let executions: Vec<String> = (0..24).map(|index| format!("e{index:02}")).collect();
    store
        .commit(std::sync::Arc::new(Commit {
            put: executions.iter().map(|id| job(id, 0)).collect(),
            ..Commit::default()
        }))
        .await
        .expect("the first jobs are put");
    const STEPS: usize = 3;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let store = MysqlStore::clone(&store);
        workers.spawn(async move {
            let name = format!("w{worker}");
            let mut seen = Vec::new();
            let mut idle = 0;
            while idle < 40 {
                let claimed = store
                    .claim("job:", &name, 5, Duration::from_secs(60))
                    .await?;
                store.renew(&name, Duration::from_secs(60)).await?;
                if claimed.is_empty() {
                    idle += 1;
                    store.wait("job:", Duration::from_millis(20)).await;
                    continue;
                }
                idle = 0;
                for claimed in claimed {
                    let row = claimed.row;
                    let step: usize = row.key["job:".len()..].parse().unwrap_or(STEPS);
                    seen.push((row.execution_id.clone(), step));
                    // The executor's commit: the job is done, the next one is put.
                    let next = if step + 1 < STEPS {
                        vec![job(&row.execution_id, step + 1)]
                    } else {
                        Vec::new()
                    };
                    store
                        .commit(std::sync::Arc::new(Commit {
                            done: vec![(row.execution_id, row.key)],
                            put: next,
                            ..Commit::default()
                        }))
                        .await?;
                }
            }
            Ok::<_, peregrine_ports::repository::Error>(seen)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done.expect("the worker ran").expect("no request fails"));
    }
    let distinct: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), distinct.len(), "a job went to two workers");
    assert_eq!(all.len(), executions.len() * STEPS, "every job ran");
    assert_eq!(
        store
            .outbox(&peregrine_ports::partition::Partitions::All)
            .await
            .map(|rows| rows.len()),
        Ok(0)
    );
}

#[tokio::test]
async fn an_update_that_changes_nothing_counts_the_row_it_matched() {
    // Renewals rely on it: the connection asks for matched rows, not changed ones.
    let store = store().await;
    let updated = sqlx::query("UPDATE executor_lease SET epoch = epoch WHERE name = 'executor'")
        .execute(store.pool())
        .await
        .expect("updated");
    assert_eq!(updated.rows_affected(), 1);
}

#[tokio::test]
async fn racing_executors_take_the_lease_once() {
    use std::time::Duration;

    use peregrine_ports::lease::{ExecutorLease, Fence};
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};

    let first = store().await;
    let url = with_database(server(), &first.name);
    let second = MysqlStore::connect(&url, options()).await.expect("opens");
    let ttl = Duration::from_secs(30);
    let (a, b, c, d) = tokio::join!(
        first.acquire("a", ttl),
        second.acquire("b", ttl),
        first.acquire("c", ttl),
        second.acquire("d", ttl),
    );
    let won: Vec<(&str, u64)> = [("a", a), ("b", b), ("c", c), ("d", d)]
        .into_iter()
        .filter_map(|(owner, acquired)| Some((owner, acquired.expect("acquire")?)))
        .collect();
    assert_eq!(won.len(), 1, "{won:?}");
    let (owner, epoch) = won[0];
    assert_eq!(epoch, 1);
    // Each store checks the fence it was given, and its clones share it.
    let loser = if owner == "a" { "b" } else { "a" };
    MysqlStore::clone(&second).fence_commits(Fence {
        owner: loser.into(),
        epoch,
    });
    first.fence_commits(Fence {
        owner: owner.into(),
        epoch,
    });
    let commit = std::sync::Arc::new(Commit {
        put: vec![OutboxRow {
            execution_id: "e".into(),
            key: "timer:x".into(),
            payload: serde_json::json!({}),
        }],
        ..Commit::default()
    });
    first
        .commit(commit.clone())
        .await
        .expect("the holder commits");
    let refused = second.commit(commit).await;
    assert!(
        matches!(
            refused,
            Err(peregrine_ports::repository::Error::Conflict(_))
        ),
        "{refused:?}"
    );
    second.close().await;
}

#[tokio::test]
async fn an_acquisition_waits_for_the_fenced_commits_in_flight() {
    use std::time::Duration;

    use peregrine_ports::lease::ExecutorLease;

    let store = store().await;
    let first = store
        .acquire("a", Duration::from_millis(100))
        .await
        .expect("acquire")
        .expect("free");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fenced commit of the expired holder, between its check and its end.
    let mut in_flight = store.pool().begin().await.expect("begins");
    sqlx::query(
        "SELECT epoch FROM executor_lease WHERE name = 'executor' AND owner = ? AND epoch = ? \
         LOCK IN SHARE MODE",
    )
    .bind("a")
    .bind(i64::try_from(first).expect("small"))
    .fetch_one(&mut *in_flight)
    .await
    .expect("the expired holder still holds the lease");
    let next = MysqlStore::clone(&store);
    let takeover = tokio::spawn(async move { next.acquire("b", Duration::from_secs(30)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!takeover.is_finished(), "the takeover waits for the commit");
    in_flight.commit().await.expect("commits");
    let second = takeover.await.expect("the task ran").expect("acquire");
    assert_eq!(second, Some(first + 1));
}

#[tokio::test]
async fn a_renewal_does_not_wait_on_a_row_another_transaction_holds() {
    use std::time::Duration;

    use peregrine_ports::queue::OutboxQueue;
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};

    let store = store().await;
    let row = |key: &str| OutboxRow {
        execution_id: "e1".into(),
        key: key.into(),
        payload: serde_json::json!({}),
    };
    let put = Commit {
        put: vec![row("job:a"), row("job:b")],
        ..Commit::default()
    };
    store.commit(std::sync::Arc::new(put)).await.expect("put");
    let lease = Duration::from_secs(600);
    let claimed = store.claim("job:", "w1", 10, lease).await.expect("claimed");
    assert_eq!(claimed.len(), 2);
    // Another transaction (a commit consuming the row) holds it.
    let mut locker = store.pool().begin().await.expect("begins");
    sqlx::query("SELECT `key` FROM outbox WHERE `key` = 'job:a' FOR UPDATE")
        .execute(&mut *locker)
        .await
        .expect("locks the row");
    let renewed = tokio::time::timeout(Duration::from_secs(5), store.renew("w1", lease))
        .await
        .expect("the renewal does not wait on the lock")
        .expect("renewed");
    let mut held: Vec<&str> = renewed.iter().map(|held| held.key.as_str()).collect();
    held.sort_unstable();
    assert_eq!(held, ["job:a", "job:b"], "the locked row is still held");
    locker.rollback().await.expect("rolled back");
}
