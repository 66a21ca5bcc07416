//! Execution logs: one row per line, with the columns searches filter on and the whole entry
//! as JSON, in the order they were written (`seq`). Searches page newest first by `seq`, so
//! lines of one instant keep their order.

use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, LogPaging, LogQuery, LogRepository, Page};
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, Row};

use crate::batch::{Bound, bind_all, marks, runs, tuples};
use crate::{MysqlStore, backend, from_text, like_contains, like_prefix, to_text};

pub(crate) fn level(level: LogLevel) -> i64 {
    match level {
        LogLevel::Trace => 0,
        LogLevel::Debug => 1,
        LogLevel::Info => 2,
        LogLevel::Warn => 3,
        LogLevel::Error => 4,
    }
}

/// A log line ready to insert.
pub(crate) struct EncodedLog<'a> {
    entry: &'a LogEntry,
    level: i64,
    timestamp: i64,
    doc: String,
}

pub(crate) fn encode(entries: &[LogEntry]) -> Result<Vec<EncodedLog<'_>>, Error> {
    entries
        .iter()
        .map(|entry| {
            Ok(EncodedLog {
                entry,
                level: level(entry.level),
                timestamp: micros(entry.timestamp),
                doc: to_text(entry)?,
            })
        })
        .collect()
}

/// Instants are stored in microseconds since the epoch.
pub(crate) fn micros(instant: jiff::Timestamp) -> i64 {
    instant.as_microsecond()
}

pub(crate) async fn insert(
    connection: &mut MySqlConnection,
    entries: &[EncodedLog<'_>],
) -> Result<(), sqlx::Error> {
    for entries in runs(entries, |entry| entry.doc.len()) {
        let sql = format!(
            "INSERT INTO logs (namespace, flow_id, execution_id, task_id, task_run_id, level, \
             timestamp, doc) VALUES {}",
            tuples(entries.len(), 8)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for encoded in entries {
            let entry = encoded.entry;
            query = query
                .bind(&entry.namespace)
                .bind(&entry.flow_id)
                .bind(&entry.execution_id)
                .bind(&entry.task_id)
                .bind(&entry.task_run_id)
                .bind(encoded.level)
                .bind(encoded.timestamp)
                .bind(&encoded.doc);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// The WHERE clause (empty when it filters nothing) and values of a log query.
fn filters(query: &LogQuery) -> (String, Vec<Bound>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    for (column, wanted) in [
        ("execution_id", &query.execution_id),
        ("task_run_id", &query.task_run_id),
        ("task_id", &query.task_id),
        ("flow_id", &query.flow_id),
    ] {
        if let Some(wanted) = wanted {
            clauses.push(format!("{column} = ?"));
            values.push(Bound::Text(wanted.clone()));
        }
    }
    if let Some(min) = query.min_level {
        clauses.push("level >= ?".to_string());
        values.push(Bound::Number(level(min)));
    }
    if let Some(namespace) = &query.namespace {
        clauses.push("(namespace = ? OR namespace LIKE ? ESCAPE '|')".to_string());
        values.push(Bound::Text(namespace.clone()));
        values.push(Bound::Text(like_prefix(&format!("{namespace}."))));
    }
    if let Some(text) = &query.text {
        clauses.push(
            "LOWER(JSON_UNQUOTE(JSON_EXTRACT(doc, '$.message'))) LIKE ? ESCAPE '|'".to_string(),
        );
        values.push(Bound::Text(like_contains(&text.to_lowercase())));
    }
    if let Some(from) = query.from {
        clauses.push("timestamp >= ?".to_string());
        values.push(Bound::Number(micros(from)));
    }
    if let Some(to) = query.to {
        clauses.push("timestamp <= ?".to_string());
        values.push(Bound::Number(micros(to)));
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (clause, values)
}

fn documents(rows: &[MySqlRow]) -> Result<Vec<LogEntry>, Error> {
    rows.iter()
        .map(|row| {
            let doc: String = row.try_get(0).map_err(backend)?;
            from_text("logs", &doc)
        })
        .collect()
}

impl LogRepository for MysqlStore {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            let encoded = encode(&entries)?;
            let mut transaction = self.pool.begin().await.map_err(backend)?;
            insert(&mut transaction, &encoded).await.map_err(backend)?;
            transaction.commit().await.map_err(backend)
        })
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        let (clause, values) = filters(query);
        Box::pin(async move {
            let sql = format!("SELECT doc FROM logs {clause} ORDER BY seq");
            let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &values)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            documents(&rows)
        })
    }

    fn page(
        &self,
        query: &LogQuery,
        paging: LogPaging,
    ) -> BoxFuture<'_, Result<Page<LogEntry>, Error>> {
        let (clause, values) = filters(query);
        Box::pin(async move {
            let count = format!("SELECT COUNT(*) FROM logs {clause}");
            let total: i64 = bind_all(sqlx::query(AssertSqlSafe(count)), &values)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get(0))
                .map_err(backend)?;
            let order = if paging.oldest_first { "" } else { " DESC" };
            let offset = paging.page.saturating_sub(1).saturating_mul(paging.size);
            let sql = format!("SELECT doc FROM logs {clause} ORDER BY seq{order} LIMIT ? OFFSET ?");
            let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &values)
                .bind(i64::try_from(paging.size).unwrap_or(i64::MAX))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            Ok(Page {
                results: documents(&rows)?,
                total: usize::try_from(total).unwrap_or_default(),
            })
        })
    }

    fn purge(
        &self,
        query: &LogQuery,
        levels: Vec<LogLevel>,
    ) -> BoxFuture<'_, Result<usize, Error>> {
        let (clause, mut values) = filters(query);
        let clause = if levels.is_empty() {
            clause
        } else {
            let wanted = format!("level IN ({})", marks(levels.len()));
            values.extend(
                levels
                    .into_iter()
                    .map(|wanted| Bound::Number(level(wanted))),
            );
            if clause.is_empty() {
                format!("WHERE {wanted}")
            } else {
                format!("{clause} AND {wanted}")
            }
        };
        Box::pin(async move {
            let sql = format!("DELETE FROM logs {clause}");
            let done = bind_all(sqlx::query(AssertSqlSafe(sql)), &values)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
        })
    }

    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM logs WHERE execution_id = ?")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
        })
    }
}
