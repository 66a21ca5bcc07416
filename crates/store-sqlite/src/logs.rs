//! Execution logs, in the order they were written.

use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, LogPaging, LogQuery, LogRepository, Page};
use rusqlite::types::Value;
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
        "INSERT INTO logs (execution_id, task_id, task_run_id, level, doc, namespace, flow_id, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for entry in entries {
        let doc = serde_json::to_string(entry).map_err(json_error)?;
        insert.execute(params![
            entry.execution_id,
            entry.task_id,
            entry.task_run_id,
            level(entry.level),
            doc,
            entry.namespace,
            entry.flow_id,
            entry.timestamp.as_microsecond(),
        ])?;
    }
    Ok(())
}

/// `LIKE` text matching `text` literally.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The `WHERE` clause of a query (empty when it filters nothing) and its values.
fn filter(query: &LogQuery) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    // Each `?` of a clause takes the next value, numbered as SQLite wants them.
    let mut push = |clause: &str, given: Vec<Value>| {
        let mut given = given.into_iter();
        let mut numbered = String::new();
        for (index, part) in clause.split('?').enumerate() {
            if index > 0 {
                values.push(given.next().unwrap_or(Value::Null));
                numbered.push_str(&format!("?{}", values.len()));
            }
            numbered.push_str(part);
        }
        clauses.push(numbered);
    };
    for (column, wanted) in [
        ("execution_id", &query.execution_id),
        ("task_run_id", &query.task_run_id),
        ("task_id", &query.task_id),
        ("flow_id", &query.flow_id),
    ] {
        if let Some(wanted) = wanted {
            push(&format!("{column} = ?"), vec![wanted.clone().into()]);
        }
    }
    if let Some(min) = query.min_level {
        push("level >= ?", vec![level(min).into()]);
    }
    if let Some(namespace) = &query.namespace {
        let children = format!("{}.%", like_escaped(namespace));
        push(
            r"(namespace = ? OR namespace LIKE ? ESCAPE '\')",
            vec![namespace.clone().into(), children.into()],
        );
    }
    if let Some(text) = &query.text {
        let pattern = format!("%{}%", like_escaped(&text.to_lowercase()));
        push(
            r"lower(json_extract(doc, '$.message')) LIKE ? ESCAPE '\'",
            vec![pattern.into()],
        );
    }
    if let Some(from) = query.from {
        push("at >= ?", vec![from.as_microsecond().into()]);
    }
    if let Some(to) = query.to {
        push("at <= ?", vec![to.as_microsecond().into()]);
    }
    if clauses.is_empty() {
        (String::new(), values)
    } else {
        (format!("WHERE {}", clauses.join(" AND ")), values)
    }
}

fn documents(
    connection: &Connection,
    sql: &str,
    values: &[Value],
) -> rusqlite::Result<Vec<LogEntry>> {
    connection
        .prepare_cached(sql)?
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
}

impl LogRepository for SqliteStore {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(
            self.writer
                .write(move |connection| insert(connection, &entries)),
        )
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        let (clause, values) = filter(query);
        Box::pin(self.read(move |connection| {
            documents(
                connection,
                &format!("SELECT doc FROM logs {clause} ORDER BY seq"),
                &values,
            )
        }))
    }

    fn page(
        &self,
        query: &LogQuery,
        paging: LogPaging,
    ) -> BoxFuture<'_, Result<Page<LogEntry>, Error>> {
        let (clause, values) = filter(query);
        Box::pin(self.read(move |connection| {
            let total: i64 = connection
                .prepare_cached(&format!("SELECT COUNT(*) FROM logs {clause}"))?
                .query_row(params_from_iter(values.iter()), |row| row.get(0))?;
            let order = if paging.oldest_first { "" } else { " DESC" };
            let offset = paging.page.saturating_sub(1).saturating_mul(paging.size);
            let sql = format!(
                "SELECT doc FROM logs {clause} ORDER BY seq{order} LIMIT {} OFFSET {offset}",
                paging.size
            );
            Ok(Page {
                results: documents(connection, &sql, &values)?,
                total: usize::try_from(total).unwrap_or_default(),
            })
        }))
    }

    fn purge(
        &self,
        query: &LogQuery,
        levels: Vec<LogLevel>,
    ) -> BoxFuture<'_, Result<usize, Error>> {
        let (clause, mut values) = filter(query);
        let mut marks = Vec::with_capacity(levels.len());
        for wanted in levels {
            values.push(level(wanted).into());
            marks.push(format!("?{}", values.len()));
        }
        let clause = match (clause.is_empty(), marks.is_empty()) {
            (_, true) => clause,
            (true, false) => format!("WHERE level IN ({})", marks.join(", ")),
            (false, false) => format!("{clause} AND level IN ({})", marks.join(", ")),
        };
        Box::pin(self.writer.write(move |connection| {
            connection
                .prepare_cached(&format!("DELETE FROM logs {clause}"))?
                .execute(params_from_iter(values.iter()))
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
