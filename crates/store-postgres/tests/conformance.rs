//! The store, flow and trigger conformance suites on a real PostgreSQL, each test in a fresh
//! schema of its own so they run in parallel; plus what only a shared server can show: racing
//! opens migrate once, and reopening keeps everything.
//!
//! The server is `PEREGRINE_TEST_POSTGRES_URL` when set, else the private one that
//! `scripts/services/postgres` starts (once per test process). A server that cannot be reached
//! fails the tests: they never skip.

use std::ops::Deref;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use peregrine_store_postgres::{PostgresOptions, PostgresStore};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Test schemas older than this are dropped when a test process starts.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

/// The server's URL: from the environment, or from the service script (which starts it).
fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("PEREGRINE_TEST_POSTGRES_URL")
            && !url.trim().is_empty()
        {
            return url.trim().to_string();
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let output = Command::new(root.join("scripts/services/postgres"))
            .current_dir(&root)
            .output()
            .expect("scripts/services/postgres runs");
        assert!(
            output.status.success(),
            "scripts/services/postgres failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::trim)
            .rfind(|line| line.starts_with("postgres"))
            .expect("scripts/services/postgres prints the server's url")
            .to_string()
    })
}

fn seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// Drops the schemas earlier test runs left behind (once per process, best effort).
async fn drop_stale_schemas(connection: &mut PgConnection) {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.set(()).is_err() {
        return;
    }
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'peregrine\\_t\\_%'",
    )
    .fetch_all(&mut *connection)
    .await
    else {
        return;
    };
    let limit = seconds_now().saturating_sub(STALE_AFTER.as_secs());
    for name in names {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|seconds| seconds.parse::<u64>().ok());
        if created.is_some_and(|created| created < limit) {
            let sql = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *connection)
                .await;
        }
    }
}

/// A new, empty schema; its name says when it was made so a later run can drop it.
async fn fresh_schema() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let url = server_url();
    let mut connection = PgConnection::connect(url)
        .await
        .expect("the test postgres server is reachable (scripts/services/postgres)");
    drop_stale_schemas(&mut connection).await;
    let name = format!(
        "peregrine_t_{}_{}_{}",
        seconds_now(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{name}\"")))
        .execute(&mut connection)
        .await
        .expect("test schema created");
    let _ = connection.close().await;
    name
}

fn options() -> PostgresOptions {
    PostgresOptions {
        max_connections: 4,
        ..PostgresOptions::default()
    }
}

fn connect_options(schema: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(server_url())
        .expect("valid test url")
        .options([("search_path", schema)])
}

async fn open(schema: &str) -> PostgresStore {
    PostgresStore::connect_with(connect_options(schema), options())
        .await
        .expect("the store opens on the test schema")
}

/// A store on a fresh schema.
struct Fixture {
    store: PostgresStore,
}

impl Deref for Fixture {
    type Target = PostgresStore;

    fn deref(&self) -> &PostgresStore {
        &self.store
    }
}

async fn store() -> Fixture {
    let schema = fresh_schema().await;
    Fixture {
        store: open(&schema).await,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_opens_of_a_fresh_schema_migrate_once() {
    let schema = fresh_schema().await;
    // Through the URL this time, with the schema in the connection's startup options.
    let url = format!(
        "{}{}options[search_path]={schema}",
        server_url(),
        if server_url().contains('?') { "&" } else { "?" }
    );
    let opens = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PostgresStore::connect(&url, options()).await })
    });
    let mut stores = Vec::new();
    for open in opens {
        let store = open.await.expect("the open task ends");
        stores.push(store.expect("every racing open succeeds"));
    }
    let (count, distinct, highest): (i64, i64, Option<i32>) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_version",
    )
    .fetch_one(stores[0].pool())
    .await
    .expect("schema_version is read");
    assert!(count >= 1, "the schema was migrated");
    assert_eq!(count, distinct, "each step ran once");
    assert_eq!(Some(count), highest.map(i64::from), "steps ran in order");
}

#[tokio::test]
async fn reopening_the_schema_keeps_flows_and_executions() {
    use peregrine_ports::repository::{ExecutionQuery, ExecutionRepository, FlowRepository};
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow, Transition};

    let schema = fresh_schema().await;
    let execution: peregrine_model::execution::Execution =
        serde_json::from_value(serde_json::json!({
            "id": "e",
            "namespace": "team",
            "flowId": "f",
            "flowRevision": 1,
            "state": {"current": "RUNNING", "histories": [
                {"state": "CREATED", "date": "2024-01-01T00:00:00Z"},
                {"state": "RUNNING", "date": "2024-01-01T00:00:01Z"}
            ]},
            "inputs": {"zeta": 1, "alpha": {"y": 2, "x": 3}},
            "metadata": {"attemptNumber": 1, "originalCreatedDate": "2024-01-01T00:00:00Z"},
        }))
        .expect("a valid execution");
    {
        let store = open(&schema).await;
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
            header: Some(execution.clone()),
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
        sqlx::raw_sql("UPDATE executions SET part = -1; UPDATE outbox SET part = -1")
            .execute(store.pool())
            .await
            .expect("partitions cleared");
        store.pool().close().await;
    }
    let store = open(&schema).await;
    let own = peregrine_ports::partition::Partitions::Only(vec![peregrine_ports::partition::of(
        "e",
        store.partition_count(),
    )]);
    assert_eq!(store.outbox(&own).await.map(|rows| rows.len()), Ok(1));
    assert_eq!(store.unfinished(&own).await.map(|found| found.len()), Ok(1));
    let flow = FlowRepository::get(&store, "team", "f", None)
        .await
        .expect("read");
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
        .expect("unfinished");
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].execution, execution);
    assert_eq!(
        serde_json::to_string(&unfinished[0].execution).expect("serialized"),
        serde_json::to_string(&execution).expect("serialized"),
        "documents come back as written, key order included"
    );
    let query = ExecutionQuery {
        page: 1,
        size: 10,
        ..ExecutionQuery::default()
    };
    assert_eq!(store.search(&query).await.map(|page| page.total), Ok(1));
}

#[tokio::test]
async fn log_text_is_matched_literally_without_case() {
    use peregrine_model::log::{LogEntry, LogLevel};
    use peregrine_ports::repository::{LogPaging, LogQuery, LogRepository};

    let store = store().await;
    let line = |message: &str| LogEntry {
        namespace: "team".into(),
        flow_id: "f".into(),
        execution_id: "e".into(),
        task_id: None,
        task_run_id: None,
        attempt_number: Some(2),
        timestamp: jiff::Timestamp::UNIX_EPOCH,
        level: LogLevel::Info,
        message: message.into(),
    };
    let lines = ["100% Done", "1000 done", "a_b", "axb", r"back\slash"].map(line);
    store.append(lines.to_vec()).await.expect("appended");
    let found = |text: &str| {
        let query = LogQuery {
            text: Some(text.into()),
            ..LogQuery::default()
        };
        let store = &store;
        async move {
            let paging = LogPaging {
                oldest_first: true,
                ..LogPaging::default()
            };
            let page = store.page(&query, paging).await.expect("searched");
            page.results
                .into_iter()
                .map(|line| line.message)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("0% DONE").await, ["100% Done"]);
    assert_eq!(found("A_B").await, ["a_b"]);
    assert_eq!(found(r"k\s").await, [r"back\slash"]);
    let all = store.find(&LogQuery::default()).await.expect("found");
    assert_eq!(all, lines.to_vec(), "every field comes back");
}

/// A renewal does not wait on a row another transaction holds (the executor's commit consuming
/// it, under load): it answers at once, the row still held, so a worker never misses its
/// liveness timeout while the database is alive.
#[tokio::test]
async fn a_renewal_does_not_wait_on_a_row_another_transaction_holds() {
    use peregrine_ports::queue::OutboxQueue;
    use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};

    let schema = fresh_schema().await;
    let store = open(&schema).await;
    let put = Commit {
        put: vec![
            OutboxRow {
                execution_id: "e1".into(),
                key: "job:a".into(),
                payload: serde_json::json!({}),
            },
            OutboxRow {
                execution_id: "e1".into(),
                key: "job:b".into(),
                payload: serde_json::json!({}),
            },
        ],
        ..Commit::default()
    };
    store.commit(std::sync::Arc::new(put)).await.expect("put");
    let lease = Duration::from_secs(600);
    let claimed = store.claim("job:", "w1", 10, lease).await.expect("claimed");
    assert_eq!(claimed.len(), 2);

    let mut locker = PgConnection::connect_with(&connect_options(&schema))
        .await
        .expect("connects");
    let mut transaction = locker.begin().await.expect("begins");
    sqlx::query("SELECT key FROM outbox WHERE key = 'job:a' FOR UPDATE")
        .execute(&mut *transaction)
        .await
        .expect("locks the row");
    let renewed = tokio::time::timeout(Duration::from_secs(5), store.renew("w1", lease))
        .await
        .expect("the renewal does not wait on the lock")
        .expect("renewed");
    let held: Vec<&str> = renewed.iter().map(|held| held.key.as_str()).collect();
    assert_eq!(held, ["job:a", "job:b"], "the locked row is still held");
    transaction.rollback().await.expect("rolled back");
}
