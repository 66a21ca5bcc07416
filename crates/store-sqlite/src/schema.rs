//! The tables, created and migrated in order; `PRAGMA user_version` records the last step run.

use rusqlite::Connection;

/// Each step runs once, in order, in its own transaction.
const STEPS: &[&str] = &[
    r#"
CREATE TABLE flows (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    source TEXT NOT NULL,
    updated INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, id, revision)
) WITHOUT ROWID;

CREATE TABLE executions (
    id TEXT PRIMARY KEY NOT NULL,
    namespace TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    state TEXT NOT NULL,
    terminated INTEGER NOT NULL,
    started INTEGER,
    header TEXT NOT NULL,
    root TEXT,
    parent TEXT
);
CREATE INDEX executions_by_start ON executions (started DESC, id);
CREATE INDEX executions_by_flow ON executions (namespace, flow_id, started DESC);
CREATE INDEX executions_unfinished ON executions (terminated, id);

CREATE TABLE task_runs (
    execution_id TEXT NOT NULL,
    id TEXT NOT NULL,
    position INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (execution_id, id)
) WITHOUT ROWID;

CREATE TABLE frames (
    execution_id TEXT NOT NULL,
    task_run_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (execution_id, task_run_id)
) WITHOUT ROWID;

CREATE TABLE outbox (
    execution_id TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (execution_id, key)
) WITHOUT ROWID;

CREATE TABLE logs (
    seq INTEGER PRIMARY KEY,
    execution_id TEXT NOT NULL,
    task_id TEXT,
    task_run_id TEXT,
    level INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX logs_by_execution ON logs (execution_id, seq);
"#,
    r#"
CREATE TABLE triggers (
    namespace TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    trigger_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    date INTEGER NOT NULL,
    next_date INTEGER,
    disabled INTEGER NOT NULL,
    execution_id TEXT,
    updated INTEGER NOT NULL,
    PRIMARY KEY (namespace, flow_id, trigger_id)
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE logs ADD COLUMN namespace TEXT NOT NULL DEFAULT '';
ALTER TABLE logs ADD COLUMN flow_id TEXT NOT NULL DEFAULT '';
ALTER TABLE logs ADD COLUMN at INTEGER NOT NULL DEFAULT 0;
UPDATE logs SET
    namespace = json_extract(doc, '$.namespace'),
    flow_id = json_extract(doc, '$.flowId'),
    at = CAST(unixepoch(json_extract(doc, '$.timestamp'), 'subsec') * 1000000 AS INTEGER);
CREATE INDEX logs_by_flow ON logs (namespace, flow_id, seq);
CREATE INDEX logs_by_time ON logs (at);
"#,
    // Purges pick ended executions oldest started first.
    r#"
CREATE INDEX executions_ended_by_start ON executions (terminated, started, id);
"#,
];

pub(crate) fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let done: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let done = usize::try_from(done).unwrap_or_default();
    for (index, step) in STEPS.iter().enumerate().skip(done) {
        let sql = format!(
            "BEGIN IMMEDIATE; {step}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        );
        connection.execute_batch(&sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_written_before_their_columns_existed_are_filled_in() {
        let connection = Connection::open_in_memory().expect("opens");
        for (index, step) in STEPS.iter().take(2).enumerate() {
            connection.execute_batch(step).expect("older step");
            connection
                .pragma_update(None, "user_version", index as i64 + 1)
                .expect("version");
        }
        let doc = r#"{"namespace":"team","flowId":"f","executionId":"e","timestamp":"2026-01-02T03:04:05.678Z","level":"INFO","message":"m"}"#;
        connection
            .execute(
                "INSERT INTO logs (execution_id, level, doc) VALUES ('e', 2, ?1)",
                [doc],
            )
            .expect("old line");
        migrate(&connection).expect("migrates");
        let row: (String, String, i64) = connection
            .query_row("SELECT namespace, flow_id, at FROM logs", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .expect("line");
        let at: jiff::Timestamp = "2026-01-02T03:04:05.678Z".parse().expect("instant");
        assert_eq!(row, ("team".into(), "f".into(), at.as_microsecond()));
    }
}
