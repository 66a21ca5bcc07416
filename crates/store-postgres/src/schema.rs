//! The tables, created and migrated in order at open. `schema_version` records each step run;
//! every process opening the database takes the same transaction-scoped advisory lock first, so
//! several starting at once migrate exactly once and the others find the work done.

use sqlx::postgres::PgPool;

use crate::OpenError;

/// Each step runs once, in order, in the migration transaction. Key columns use the `C`
/// collation: byte order, as SQLite sorts, whatever the database's locale, and prefix ranges
/// on namespaces served by the index.
const STEPS: &[&str] = &[
    r#"
CREATE TABLE flows (
    namespace TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    revision INTEGER NOT NULL,
    source TEXT NOT NULL,
    updated BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (namespace, id, revision)
);

CREATE TABLE executions (
    id TEXT COLLATE "C" PRIMARY KEY,
    namespace TEXT COLLATE "C" NOT NULL,
    flow_id TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL,
    terminated BOOLEAN NOT NULL,
    started BIGINT,
    header TEXT NOT NULL,
    root TEXT,
    parent TEXT
);
CREATE INDEX executions_by_start ON executions (started DESC NULLS LAST, id);
CREATE INDEX executions_by_flow ON executions (namespace, flow_id, started DESC NULLS LAST);
CREATE INDEX executions_unfinished ON executions (id) WHERE NOT terminated;

CREATE TABLE task_runs (
    execution_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    position BIGINT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (execution_id, id)
);

CREATE TABLE frames (
    execution_id TEXT COLLATE "C" NOT NULL,
    task_run_id TEXT COLLATE "C" NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (execution_id, task_run_id)
);

CREATE TABLE outbox (
    execution_id TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (execution_id, key)
);

CREATE TABLE logs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace TEXT COLLATE "C" NOT NULL,
    flow_id TEXT COLLATE "C" NOT NULL,
    execution_id TEXT COLLATE "C" NOT NULL,
    task_id TEXT COLLATE "C",
    task_run_id TEXT COLLATE "C",
    attempt_number INTEGER,
    level SMALLINT NOT NULL,
    timestamp BIGINT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX logs_by_execution ON logs (execution_id, seq);
CREATE INDEX logs_by_flow ON logs (namespace, flow_id, seq);
CREATE INDEX logs_by_time ON logs (timestamp);

CREATE TABLE triggers (
    namespace TEXT COLLATE "C" NOT NULL,
    flow_id TEXT COLLATE "C" NOT NULL,
    trigger_id TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    date BIGINT NOT NULL,
    next_date BIGINT,
    disabled BOOLEAN NOT NULL,
    execution_id TEXT,
    updated BIGINT NOT NULL,
    PRIMARY KEY (namespace, flow_id, trigger_id)
);
"#,
    // Purges pick ended executions oldest started first.
    r#"
CREATE INDEX executions_ended_by_start ON executions (started, id) WHERE terminated;
"#,
    // The outbox as a queue between processes: the order rows were put in, and who holds a
    // row until when (microseconds of the database's clock).
    r#"
ALTER TABLE outbox
    ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN claimed_by TEXT,
    ADD COLUMN lease_until BIGINT,
    ADD COLUMN claims INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN killed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX outbox_by_key ON outbox (key, seq);
CREATE INDEX outbox_by_holder ON outbox (claimed_by) WHERE claimed_by IS NOT NULL;
"#,
    // The executor's lease: who runs executions when several executors share the database.
    r#"
CREATE TABLE executor_lease (
    name TEXT PRIMARY KEY,
    owner TEXT,
    epoch BIGINT NOT NULL,
    lease_until BIGINT
);
INSERT INTO executor_lease (name, owner, epoch, lease_until) VALUES ('executor', NULL, 0, NULL);
"#,
    // Partitions of executions (docs/adr/0004-partitioned-executors.md): the partition of each
    // execution and outbox row (-1 until computed from the id, see `partitions.rs`), one lease
    // row per partition, which also fixes how many there are, and the executors that live.
    r#"
ALTER TABLE executions ADD COLUMN part SMALLINT NOT NULL DEFAULT -1;
ALTER TABLE outbox ADD COLUMN part SMALLINT NOT NULL DEFAULT -1;
CREATE TABLE executor_partitions (
    part SMALLINT PRIMARY KEY,
    owner TEXT,
    epoch BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT
);
INSERT INTO executor_partitions (part) SELECT generate_series(0, 15);
CREATE TABLE executor_members (
    owner TEXT PRIMARY KEY,
    lease_until BIGINT NOT NULL
);
"#,
];

/// Runs the steps not yet run, all in one transaction under an advisory lock keyed by the
/// current schema (so databases or schemas shared by different deployments do not wait on
/// each other).
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), OpenError> {
    let failed = |version: usize| move |source| OpenError::Migrate { version, source };
    let target = STEPS.len();
    let mut transaction = pool.begin().await.map_err(failed(target))?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('peregrine-schema:' || current_schema()))")
        .execute(&mut *transaction)
        .await
        .map_err(failed(target))?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_version (\
         version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&mut *transaction)
    .await
    .map_err(failed(target))?;
    let done: i32 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        .fetch_one(&mut *transaction)
        .await
        .map_err(failed(target))?;
    let done = usize::try_from(done).unwrap_or_default();
    for (index, step) in STEPS.iter().enumerate().skip(done) {
        let version = index + 1;
        sqlx::raw_sql(*step)
            .execute(&mut *transaction)
            .await
            .map_err(failed(version))?;
        sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
            .bind(i32::try_from(version).unwrap_or(i32::MAX))
            .execute(&mut *transaction)
            .await
            .map_err(failed(version))?;
    }
    transaction.commit().await.map_err(failed(target))
}
