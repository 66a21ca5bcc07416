//! Execution logs, in the order they were written.

use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, LogQuery, LogRepository};
use rusqlite::{Connection, params, params_from_iter};

use crate::{SqliteStore, json_error};

fn level(level: LogLevel) -> i64 {
    match level {
        LogLevel::Trace => 0,
        LogLevel::Debug => 1,
        LogLevel::Info => 2,
        LogLevel::Warn => 3,
        LogLevel::Error => 4,
    }
}

pub(crate) fn insert(connection: &Connection, entries: &[LogEntry]) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut insert = connection.prepare_cached(
        "INSERT INTO logs (execution_id, task_id, task_run_id, level, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for entry in entries {
        let doc = serde_json::to_string(entry).map_err(json_error)?;
        insert.execute(params![
            entry.execution_id,
            entry.task_id,
            entry.task_run_id,
            level(entry.level),
            doc
        ])?;
    }
    Ok(())
}

impl LogRepository for SqliteStore {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(
            self.writer
                .write(move |connection| insert(connection, &entries)),
        )
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        let query = query.clone();
        Box::pin(self.read(move |connection| {
            let mut clauses = Vec::new();
            let mut values: Vec<rusqlite::types::Value> = Vec::new();
            for (column, wanted) in [
                ("execution_id", &query.execution_id),
                ("task_run_id", &query.task_run_id),
                ("task_id", &query.task_id),
            ] {
                if let Some(wanted) = wanted {
                    values.push(wanted.clone().into());
                    clauses.push(format!("{column} = ?{}", values.len()));
                }
            }
            if let Some(min) = query.min_level {
                values.push(level(min).into());
                clauses.push(format!("level >= ?{}", values.len()));
            }
            let clause = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            connection
                .prepare_cached(&format!("SELECT doc FROM logs {clause} ORDER BY seq"))?
                .query_map(params_from_iter(values.iter()), |row| {
                    row.get::<_, String>(0)
                })?
                .map(|doc| {
                    serde_json::from_str(&doc?).map_err(|error| {
                        rusqlite::Error::FromSqlConversionFailure(
                            0,
                            rusqlite::types::Type::Text,
                            Box::new(error),
                        )
                    })
                })
                .collect()
        }))
    }

    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>> {
        let id = execution_id.to_string();
        Box::pin(self.writer.write(move |connection| {
            connection
                .prepare_cached("DELETE FROM logs WHERE execution_id = ?1")?
                .execute(params![id])
        }))
    }
}
