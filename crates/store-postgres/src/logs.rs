//! Execution logs, in the order they were written: one row per line, every field a column.

use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, LogPaging, LogQuery, LogRepository, Page};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{QueryBuilder, Row};

use crate::{Failure, PostgresStore, answer, instant, micros};

const COLUMNS: &str = "namespace, flow_id, execution_id, task_id, task_run_id, attempt_number, level, timestamp, message";

fn level(level: LogLevel) -> i16 {
    match level {
        LogLevel::Trace => 0,
        LogLevel::Debug => 1,
        LogLevel::Info => 2,
        LogLevel::Warn => 3,
        LogLevel::Error => 4,
    }
}

fn level_of(number: i16) -> LogLevel {
    match number {
        0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        3 => LogLevel::Warn,
        4 => LogLevel::Error,
        _ => LogLevel::Info,
    }
}

fn entry(row: &PgRow) -> Result<LogEntry, sqlx::Error> {
    Ok(LogEntry {
        namespace: row.try_get(0)?,
        flow_id: row.try_get(1)?,
        execution_id: row.try_get(2)?,
        task_id: row.try_get(3)?,
        task_run_id: row.try_get(4)?,
        attempt_number: row
            .try_get::<Option<i32>, _>(5)?
            .and_then(|attempt| u32::try_from(attempt).ok()),
        level: level_of(row.try_get(6)?),
        timestamp: instant(row.try_get(7)?),
        message: row.try_get(8)?,
    })
}

/// Appends the lines in one statement; their order is kept in `seq`.
pub(crate) async fn insert(
    connection: &mut PgConnection,
    entries: &[LogEntry],
) -> Result<(), Failure> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut namespaces = Vec::with_capacity(entries.len());
    let mut flows = Vec::with_capacity(entries.len());
    let mut executions = Vec::with_capacity(entries.len());
    let mut tasks = Vec::with_capacity(entries.len());
    let mut task_runs = Vec::with_capacity(entries.len());
    let mut attempts = Vec::with_capacity(entries.len());
    let mut levels = Vec::with_capacity(entries.len());
    let mut timestamps = Vec::with_capacity(entries.len());
    let mut messages = Vec::with_capacity(entries.len());
    for entry in entries {
        namespaces.push(entry.namespace.as_str());
        flows.push(entry.flow_id.as_str());
        executions.push(entry.execution_id.as_str());
        tasks.push(entry.task_id.as_deref());
        task_runs.push(entry.task_run_id.as_deref());
        attempts.push(
            entry
                .attempt_number
                .map(|attempt| i32::try_from(attempt).unwrap_or(i32::MAX)),
        );
        levels.push(level(entry.level));
        timestamps.push(micros(entry.timestamp));
        messages.push(entry.message.as_str());
    }
    sqlx::query(
        "INSERT INTO logs (namespace, flow_id, execution_id, task_id, task_run_id, \
         attempt_number, level, timestamp, message) \
         SELECT namespace, flow_id, execution_id, task_id, task_run_id, attempt_number, level, \
         timestamp, message FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
         $5::text[], $6::integer[], $7::smallint[], $8::bigint[], $9::text[]) WITH ORDINALITY \
         AS l (namespace, flow_id, execution_id, task_id, task_run_id, attempt_number, level, \
         timestamp, message, n) ORDER BY n",
    )
    .bind(namespaces)
    .bind(flows)
    .bind(executions)
    .bind(tasks)
    .bind(task_runs)
    .bind(attempts)
    .bind(levels)
    .bind(timestamps)
    .bind(messages)
    .execute(connection)
    .await?;
    Ok(())
}

/// `LIKE` text matching `text` literally (backslash is the escape character).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Adds the WHERE clause of a log query.
fn push_filters(sql: &mut QueryBuilder<sqlx::Postgres>, query: &LogQuery) {
    sql.push(" WHERE TRUE");
    for (column, wanted) in [
        ("execution_id", &query.execution_id),
        ("task_run_id", &query.task_run_id),
        ("task_id", &query.task_id),
        ("flow_id", &query.flow_id),
    ] {
        if let Some(wanted) = wanted {
            sql.push(format!(" AND {column} = "))
                .push_bind(wanted.clone());
        }
    }
    if let Some(min) = query.min_level {
        sql.push(" AND level >= ").push_bind(level(min));
    }
    if let Some(namespace) = &query.namespace {
        sql.push(" AND ");
        crate::push_namespace_tree(sql, "namespace", namespace);
    }
    if let Some(text) = &query.text {
        // Case is folded by the server (`ILIKE`), not by Rust's `to_lowercase`: the same for
        // every ASCII letter, and for most others.
        sql.push(" AND message ILIKE ")
            .push_bind(format!("%{}%", like_escaped(text)))
            .push(r" ESCAPE '\'");
    }
    if let Some(from) = query.from {
        sql.push(" AND timestamp >= ").push_bind(micros(from));
    }
    if let Some(to) = query.to {
        sql.push(" AND timestamp <= ").push_bind(micros(to));
    }
}

async fn find(store: &PostgresStore, query: &LogQuery) -> Result<Vec<LogEntry>, Failure> {
    let mut sql = QueryBuilder::new(format!("SELECT {COLUMNS} FROM logs"));
    push_filters(&mut sql, query);
    sql.push(" ORDER BY seq");
    let rows = sql.build().fetch_all(&store.pool).await?;
    Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
}

/// One page in the order written (newest first unless asked), and the count of every match.
async fn page(
    store: &PostgresStore,
    query: &LogQuery,
    paging: LogPaging,
) -> Result<Page<LogEntry>, Failure> {
    let mut count = QueryBuilder::new("SELECT COUNT(*) FROM logs");
    push_filters(&mut count, query);
    let total: i64 = count.build_query_scalar().fetch_one(&store.pool).await?;
    let offset = paging.page.saturating_sub(1).saturating_mul(paging.size);
    let mut sql = QueryBuilder::new(format!("SELECT {COLUMNS} FROM logs"));
    push_filters(&mut sql, query);
    sql.push(if paging.oldest_first {
        " ORDER BY seq LIMIT "
    } else {
        " ORDER BY seq DESC LIMIT "
    })
    .push_bind(i64::try_from(paging.size).unwrap_or(i64::MAX))
    .push(" OFFSET ")
    .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    let rows = sql.build().fetch_all(&store.pool).await?;
    Ok(Page {
        results: rows.iter().map(entry).collect::<Result<_, _>>()?,
        total: usize::try_from(total).unwrap_or_default(),
    })
}

impl LogRepository for PostgresStore {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let mut connection = answer(self.pool.acquire().await.map_err(Failure::from))?;
            answer(insert(&mut connection, &entries).await)
        })
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        let query = query.clone();
        Box::pin(async move { answer(find(self, &query).await) })
    }

    fn page(
        &self,
        query: &LogQuery,
        paging: LogPaging,
    ) -> BoxFuture<'_, Result<Page<LogEntry>, Error>> {
        let query = query.clone();
        Box::pin(async move { answer(page(self, &query, paging).await) })
    }

    fn purge(
        &self,
        query: &LogQuery,
        levels: Vec<LogLevel>,
    ) -> BoxFuture<'_, Result<usize, Error>> {
        let query = query.clone();
        Box::pin(async move {
            let mut sql = QueryBuilder::new("DELETE FROM logs");
            push_filters(&mut sql, &query);
            if !levels.is_empty() {
                let levels: Vec<i16> = levels.into_iter().map(level).collect();
                sql.push(" AND level = ANY(").push_bind(levels).push(")");
            }
            let deleted = sql.build().execute(&self.pool).await.map_err(Failure::from);
            answer(deleted).map(|done| usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
        })
    }

    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move {
            let deleted = sqlx::query("DELETE FROM logs WHERE execution_id = $1")
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(Failure::from);
            answer(deleted).map(|done| usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
        })
    }
}
