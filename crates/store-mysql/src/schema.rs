//! The tables, created and migrated in order. `peregrine_schema` holds one row per step run;
//! a step runs under the server-wide lock `peregrine_migrate`, so processes opening the same
//! database at once migrate it exactly once.
//!
//! MySQL commits each DDL statement on its own: a step's statements are idempotent (`IF NOT
//! EXISTS`), so a step cut short by a crash runs again whole, and its row is written last.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::mysql::MySqlConnection;

use crate::OpenError;

/// Ids are case-sensitive (`utf8mb4_bin`) and short enough that every key fits InnoDB's
/// 3072-byte limit (191 characters of 4 bytes).
const TABLE_OPTIONS: &str = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// Each step is a list of statements, run in order once.
const STEPS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS flows (
        namespace VARCHAR(191) NOT NULL,
        id VARCHAR(191) NOT NULL,
        revision BIGINT NOT NULL,
        source LONGTEXT NOT NULL,
        updated BIGINT NOT NULL,
        deleted BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (namespace, id, revision)
    )",
        "CREATE TABLE IF NOT EXISTS executions (
        id VARCHAR(191) NOT NULL,
        namespace VARCHAR(191) NOT NULL,
        flow_id VARCHAR(191) NOT NULL,
        state VARCHAR(32) NOT NULL,
        ended BOOLEAN NOT NULL,
        started BIGINT NULL,
        header LONGTEXT NOT NULL,
        root LONGTEXT NULL,
        parent LONGTEXT NULL,
        PRIMARY KEY (id),
        INDEX executions_by_start (started DESC, id),
        INDEX executions_by_flow (namespace, flow_id, started DESC),
        INDEX executions_unfinished (ended, id)
    )",
        "CREATE TABLE IF NOT EXISTS task_runs (
        execution_id VARCHAR(191) NOT NULL,
        id VARCHAR(191) NOT NULL,
        position BIGINT NOT NULL,
        doc LONGTEXT NOT NULL,
        PRIMARY KEY (execution_id, id)
    )",
        "CREATE TABLE IF NOT EXISTS frames (
        execution_id VARCHAR(191) NOT NULL,
        task_run_id VARCHAR(191) NOT NULL,
        doc LONGTEXT NOT NULL,
        PRIMARY KEY (execution_id, task_run_id)
    )",
        "CREATE TABLE IF NOT EXISTS outbox (
        execution_id VARCHAR(191) NOT NULL,
        `key` VARCHAR(512) NOT NULL,
        payload LONGTEXT NOT NULL,
        PRIMARY KEY (execution_id, `key`)
    )",
        "CREATE TABLE IF NOT EXISTS logs (
        seq BIGINT NOT NULL AUTO_INCREMENT,
        namespace VARCHAR(191) NOT NULL,
        flow_id VARCHAR(191) NOT NULL,
        execution_id VARCHAR(191) NOT NULL,
        task_id VARCHAR(191) NULL,
        task_run_id VARCHAR(191) NULL,
        level TINYINT NOT NULL,
        timestamp BIGINT NOT NULL,
        doc LONGTEXT NOT NULL,
        PRIMARY KEY (seq),
        INDEX logs_by_execution (execution_id, seq),
        INDEX logs_by_time (timestamp),
        INDEX logs_by_flow (namespace, flow_id, seq)
    )",
        "CREATE TABLE IF NOT EXISTS triggers (
        namespace VARCHAR(191) NOT NULL,
        flow_id VARCHAR(191) NOT NULL,
        trigger_id VARCHAR(191) NOT NULL,
        revision BIGINT NOT NULL,
        date BIGINT NOT NULL,
        next_date BIGINT NULL,
        disabled BOOLEAN NOT NULL,
        execution_id VARCHAR(191) NULL,
        updated BIGINT NOT NULL,
        PRIMARY KEY (namespace, flow_id, trigger_id)
    )",
    ],
    // Purges pick ended executions oldest started first.
    &["ALTER TABLE executions ADD INDEX executions_ended_by_start (ended, started, id)"],
    // The outbox as a queue: the order rows were first put in (an AUTO_INCREMENT column needs
    // an index of its own beside the primary key), the key's prefix up to its first `:`, and
    // the claim. One statement, so a step cut short left all of it or nothing.
    &["ALTER TABLE outbox \
        ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE, \
        ADD COLUMN kind VARCHAR(512) \
            GENERATED ALWAYS AS (SUBSTRING(`key`, 1, LOCATE(':', `key`))) STORED, \
        ADD COLUMN claimed_by VARCHAR(191) NULL, \
        ADD COLUMN lease_until BIGINT NULL, \
        ADD COLUMN claims INT NOT NULL DEFAULT 0, \
        ADD COLUMN killed BOOLEAN NOT NULL DEFAULT FALSE, \
        ADD INDEX outbox_by_kind (kind, seq), \
        ADD INDEX outbox_by_holder (claimed_by)"],
    // The executor's lease: one row naming its holder, the epoch each acquisition raises and
    // the lease's end (microseconds on the database's clock). The row is written once; a run
    // cut short after it leaves it as it was.
    &[
        "CREATE TABLE IF NOT EXISTS executor_lease (
        name VARCHAR(64) NOT NULL,
        owner VARCHAR(255) NULL,
        epoch BIGINT NOT NULL,
        lease_until BIGINT NULL,
        PRIMARY KEY (name)
    )",
        "INSERT INTO executor_lease (name, owner, epoch, lease_until) \
         VALUES ('executor', NULL, 0, NULL) ON DUPLICATE KEY UPDATE name = name",
    ],
    // Partitions of executions (docs/adr/0004-partitioned-executors.md): the partition of each
    // execution and outbox row (-1 until computed from the id, see `partitions.rs`), one lease
    // row per partition, which also fixes how many there are, and the executors that live.
    &[
        "ALTER TABLE executions ADD COLUMN part SMALLINT NOT NULL DEFAULT -1",
        "ALTER TABLE outbox ADD COLUMN part SMALLINT NOT NULL DEFAULT -1",
        "CREATE TABLE IF NOT EXISTS executor_partitions (
        part SMALLINT NOT NULL,
        owner VARCHAR(255) NULL,
        epoch BIGINT NOT NULL DEFAULT 0,
        lease_until BIGINT NULL,
        PRIMARY KEY (part)
    )",
        "INSERT INTO executor_partitions (part) VALUES \
         (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15) \
         ON DUPLICATE KEY UPDATE part = part",
        "CREATE TABLE IF NOT EXISTS executor_members (
        owner VARCHAR(255) NOT NULL,
        lease_until BIGINT NOT NULL,
        PRIMARY KEY (owner)
    )",
    ],
];

/// The version this build creates: the number of steps.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// The last step run, 0 on a fresh database.
async fn version(connection: &mut MySqlConnection) -> Result<i64, sqlx::Error> {
    let row = sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS SIGNED) FROM peregrine_schema")
        .fetch_one(&mut *connection)
        .await;
    match row {
        Ok(row) => row.try_get(0),
        // 1146: the table does not exist yet.
        Err(sqlx::Error::Database(error))
            if error
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|error| error.number() == 1146) =>
        {
            Ok(0)
        }
        Err(error) => Err(error),
    }
}

/// 1061: the index name is taken; 1060: the column name is taken.
fn is_duplicate_index_or_column(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(error)
        if error
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|error| matches!(error.number(), 1060 | 1061)))
}

/// Brings the schema to [`SCHEMA_VERSION`].
pub(crate) async fn migrate(connection: &mut MySqlConnection) -> Result<(), OpenError> {
    let found = version(connection).await.map_err(OpenError::Migrate)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('peregrine_migrate', 60)")
        .fetch_one(&mut *connection)
        .await
        .map_err(OpenError::Migrate)?;
    if locked != Some(1) {
        return Err(OpenError::MigrationLock);
    }
    let migrated = run_steps(connection).await;
    let released = sqlx::query("SELECT RELEASE_LOCK('peregrine_migrate')")
        .execute(&mut *connection)
        .await;
    migrated?;
    released.map(|_| ()).map_err(OpenError::Migrate)
}

/// Runs the steps not run yet; called with the migration lock held.
async fn run_steps(connection: &mut MySqlConnection) -> Result<(), OpenError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS peregrine_schema (
            version BIGINT NOT NULL,
            applied BIGINT NOT NULL,
            PRIMARY KEY (version)
        ) ENGINE=InnoDB",
    )
    .execute(&mut *connection)
    .await
    .map_err(OpenError::Migrate)?;
    let found = version(connection).await.map_err(OpenError::Migrate)?;
    if found > SCHEMA_VERSION {
        return Err(OpenError::NewerSchema {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (index, step) in STEPS.iter().enumerate() {
        let number = index as i64 + 1;
        if number <= found {
            continue;
        }
        for statement in *step {
            let sql = if statement.starts_with("CREATE TABLE") {
                format!("{statement} {TABLE_OPTIONS}")
            } else {
                statement.to_string()
            };
            match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *connection)
                .await
            {
                // MySQL has no `ADD INDEX IF NOT EXISTS` (nor `ADD COLUMN`): an index or a
                // column made by a run of this step cut short before its row was written
                // counts as made.
                Err(error) if is_duplicate_index_or_column(&error) => {}
                result => result.map(|_| ()).map_err(OpenError::Migrate)?,
            }
        }
        // A plain insert: a second run of the same step would fail here, loudly.
        sqlx::query("INSERT INTO peregrine_schema (version, applied) VALUES (?, ?)")
            .bind(number)
            .bind(Timestamp::now().as_millisecond())
            .execute(&mut *connection)
            .await
            .map_err(OpenError::Migrate)?;
    }
    Ok(())
}
