//! The executor's store (executions, task runs, frames, outbox) and the execution repository.

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::partition::{DEFAULT_COUNT, Partitions};
use peregrine_ports::repository::{
    Error, ExecutionQuery, ExecutionRepository, Page, PurgeQuery, PurgedExecution,
};
use peregrine_ports::store::{
    Commit, ExecutionStore, OutboxRow, ParentLink, StoredExecution, Transition,
};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::Value;

use crate::{SqliteStore, json_error};

fn to_text<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(json_error)
}

fn from_text<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
    })
}

/// A state as stored in the `state` column (Kestra's name, `SUCCESS`).
fn state_name(execution: &Execution) -> rusqlite::Result<String> {
    match serde_json::to_value(execution.state.current).map_err(json_error)? {
        Value::String(name) => Ok(name),
        other => Ok(other.to_string()),
    }
}

fn write_transition(connection: &Connection, transition: &Transition) -> rusqlite::Result<()> {
    let id = &transition.execution_id;
    if let Some(header) = &transition.header {
        let started = header.state.started().map(|date| date.as_millisecond());
        connection
            .prepare_cached(
                "INSERT INTO executions (id, namespace, flow_id, state, terminated, started, header) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO UPDATE SET \
                 state = excluded.state, terminated = excluded.terminated, \
                 started = excluded.started, header = excluded.header",
            )?
            .execute(params![
                id,
                header.namespace,
                header.flow_id,
                state_name(header)?,
                header.state.is_terminated(),
                started,
                to_text(header)?
            ])?;
    }
    if let Some(root) = &transition.root {
        connection
            .prepare_cached("UPDATE executions SET root = ?2 WHERE id = ?1")?
            .execute(params![id, to_text(root)?])?;
    }
    if let Some(parent) = &transition.parent {
        connection
            .prepare_cached("UPDATE executions SET parent = ?2 WHERE id = ?1")?
            .execute(params![id, to_text(parent)?])?;
    }
    for removed in &transition.removed {
        connection
            .prepare_cached("DELETE FROM task_runs WHERE execution_id = ?1 AND id = ?2")?
            .execute(params![id, removed])?;
        connection
            .prepare_cached("DELETE FROM frames WHERE execution_id = ?1 AND task_run_id = ?2")?
            .execute(params![id, removed])?;
    }
    let mut upsert_run = connection.prepare_cached(
        "INSERT INTO task_runs (execution_id, id, position, doc) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (execution_id, id) DO UPDATE SET position = excluded.position, doc = excluded.doc",
    )?;
    for (position, run) in &transition.task_runs {
        upsert_run.execute(params![id, run.id, *position as i64, to_text(run)?])?;
    }
    let mut upsert_frame = connection.prepare_cached(
        "INSERT INTO frames (execution_id, task_run_id, doc) VALUES (?1, ?2, ?3) \
         ON CONFLICT (execution_id, task_run_id) DO UPDATE SET doc = excluded.doc",
    )?;
    for (task_run_id, frame) in &transition.frames {
        upsert_frame.execute(params![id, task_run_id, to_text(frame)?])?;
    }
    Ok(())
}

fn write_commit(connection: &Connection, commit: &Commit) -> rusqlite::Result<()> {
    for transition in &commit.transitions {
        write_transition(connection, transition)?;
    }
    let mut done =
        connection.prepare_cached("DELETE FROM outbox WHERE execution_id = ?1 AND key = ?2")?;
    for (execution_id, key) in &commit.done {
        done.execute(params![execution_id, key])?;
    }
    let mut done_prefix = connection.prepare_cached(
        "DELETE FROM outbox WHERE execution_id = ?1 AND substr(key, 1, length(?2)) = ?2",
    )?;
    for (execution_id, prefix) in &commit.done_prefix {
        done_prefix.execute(params![execution_id, prefix])?;
    }
    let mut put = connection.prepare_cached(
        "INSERT INTO outbox (execution_id, key, payload) VALUES (?1, ?2, ?3) \
         ON CONFLICT (execution_id, key) DO UPDATE SET payload = excluded.payload",
    )?;
    for row in &commit.put {
        put.execute(params![row.execution_id, row.key, to_text(&row.payload)?])?;
    }
    crate::logs::insert(connection, &commit.logs)
}

/// The execution with its task runs, frames, root frame and parent.
fn load(connection: &Connection, id: &str) -> rusqlite::Result<Option<StoredExecution>> {
    let row = connection
        .prepare_cached("SELECT header, root, parent FROM executions WHERE id = ?1")?
        .query_row(params![id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?;
    let Some((header, root, parent)) = row else {
        return Ok(None);
    };
    let mut execution: Execution = from_text(&header)?;
    execution.task_run_list = task_runs(connection, id)?;
    let frames = connection
        .prepare_cached("SELECT task_run_id, doc FROM frames WHERE execution_id = ?1")?
        .query_map(params![id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .map(|row| {
            let (task_run_id, doc) = row?;
            Ok((task_run_id, from_text(&doc)?))
        })
        .collect::<rusqlite::Result<Vec<(String, Value)>>>()?;
    Ok(Some(StoredExecution {
        execution,
        frames,
        root: root.as_deref().map(from_text).transpose()?,
        parent: parent.as_deref().map(from_text::<ParentLink>).transpose()?,
    }))
}

fn task_runs(
    connection: &Connection,
    id: &str,
) -> rusqlite::Result<Vec<peregrine_model::execution::TaskRun>> {
    connection
        .prepare_cached("SELECT doc FROM task_runs WHERE execution_id = ?1 ORDER BY position")?
        .query_map(params![id], |row| row.get::<_, String>(0))?
        .map(|doc| from_text(&doc?))
        .collect()
}

fn execution(connection: &Connection, id: &str) -> rusqlite::Result<Option<Execution>> {
    let header: Option<String> = connection
        .prepare_cached("SELECT header FROM executions WHERE id = ?1")?
        .query_row(params![id], |row| row.get(0))
        .optional()?;
    let Some(header) = header else {
        return Ok(None);
    };
    let mut execution: Execution = from_text(&header)?;
    execution.task_run_list = task_runs(connection, id)?;
    Ok(Some(execution))
}

impl ExecutionStore for SqliteStore {
    fn commit(&self, commit: std::sync::Arc<Commit>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(
            self.writer
                .write(move |connection| write_commit(connection, &commit)),
        )
    }

    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>> {
        let id = execution_id.to_string();
        Box::pin(self.read(move |connection| load(connection, &id)))
    }

    /// One process owns an SQLite file: it always reads every partition, filtered here.
    fn unfinished<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<StoredExecution>, Error>> {
        let partitions = partitions.clone();
        Box::pin(self.read(move |connection| {
            let ids: Vec<String> = connection
                .prepare_cached("SELECT id FROM executions WHERE terminated = 0 ORDER BY id")?
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                if !partitions.hold(&id, DEFAULT_COUNT) {
                    continue;
                }
                found.extend(load(connection, &id)?);
            }
            Ok(found)
        }))
    }

    fn outbox<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        let partitions = partitions.clone();
        Box::pin(self.read(move |connection| {
            connection
                .prepare_cached(
                    "SELECT execution_id, key, payload FROM outbox ORDER BY execution_id, key",
                )?
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })?
                .filter(|row| {
                    row.as_ref()
                        .map_or(true, |(id, _, _)| partitions.hold(id, DEFAULT_COUNT))
                })
                .map(|row| {
                    let (execution_id, key, payload) = row?;
                    Ok(OutboxRow {
                        execution_id,
                        key,
                        payload: from_text(&payload)?,
                    })
                })
                .collect()
        }))
    }
}

/// The WHERE clause and parameters of a search.
fn filters(query: &ExecutionQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(namespace) = &query.namespace {
        values.push(namespace.clone());
        values.push(format!("{namespace}."));
        clauses.push(format!(
            "(namespace = ?{} OR substr(namespace, 1, length(?{})) = ?{})",
            values.len() - 1,
            values.len(),
            values.len()
        ));
    }
    if let Some(flow_id) = &query.flow_id {
        values.push(flow_id.clone());
        clauses.push(format!("flow_id = ?{}", values.len()));
    }
    if !query.states.is_empty() {
        let mut marks = Vec::new();
        for state in &query.states {
            let name = serde_json::to_value(state)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            values.push(name);
            marks.push(format!("?{}", values.len()));
        }
        clauses.push(format!("state IN ({})", marks.join(", ")));
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (clause, values)
}

/// Removes the executions a purge picks (ended, matching, oldest started first) with their
/// task runs, frames, outbox rows and, when asked, their log lines; called in the writer's
/// transaction, so a purge is atomic.
fn purge(
    connection: &Connection,
    query: &PurgeQuery,
    limit: usize,
    logs: bool,
) -> rusqlite::Result<Vec<PurgedExecution>> {
    let (clause, texts) = filters(&ExecutionQuery {
        namespace: query.namespace.clone(),
        flow_id: query.flow_id.clone(),
        states: query.states.clone(),
        ..ExecutionQuery::default()
    });
    let mut values: Vec<rusqlite::types::Value> = texts.into_iter().map(Into::into).collect();
    let mut clauses = vec![if clause.is_empty() {
        "WHERE terminated = 1".to_string()
    } else {
        format!("{clause} AND terminated = 1")
    }];
    values.push(query.started_before.as_millisecond().into());
    clauses.push(format!("started <= ?{}", values.len()));
    if let Some(after) = query.started_after {
        values.push(after.as_millisecond().into());
        clauses.push(format!("started >= ?{}", values.len()));
    }
    values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT id, namespace, flow_id FROM executions {} ORDER BY started, id LIMIT ?{}",
        clauses.join(" AND "),
        values.len()
    );
    let purged: Vec<PurgedExecution> = connection
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values.iter()), |row| {
            Ok(PurgedExecution {
                id: row.get(0)?,
                namespace: row.get(1)?,
                flow_id: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut tables = vec!["task_runs", "frames", "outbox"];
    if logs {
        tables.push("logs");
    }
    for execution in &purged {
        for table in &tables {
            connection
                .prepare_cached(&format!("DELETE FROM {table} WHERE execution_id = ?1"))?
                .execute(params![execution.id])?;
        }
        connection
            .prepare_cached("DELETE FROM executions WHERE id = ?1")?
            .execute(params![execution.id])?;
    }
    Ok(purged)
}

impl ExecutionRepository for SqliteStore {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        let id = id.to_string();
        Box::pin(self.read(move |connection| execution(connection, &id)))
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        let query = query.clone();
        Box::pin(self.read(move |connection| {
            let (clause, values) = filters(&query);
            let total: i64 = connection
                .prepare_cached(&format!("SELECT COUNT(*) FROM executions {clause}"))?
                .query_row(params_from_iter(values.iter()), |row| row.get(0))?;
            let size = query.size.max(1);
            let offset = query.page.saturating_sub(1).saturating_mul(size);
            let ids: Vec<String> = connection
                .prepare_cached(&format!(
                    "SELECT id FROM executions {clause} ORDER BY started DESC NULLS LAST, id LIMIT {size} OFFSET {offset}"
                ))?
                .query_map(params_from_iter(values.iter()), |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut results = Vec::with_capacity(ids.len());
            for id in ids {
                results.extend(execution(connection, &id)?);
            }
            Ok(Page { results, total: usize::try_from(total).unwrap_or_default() })
        }))
    }

    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let id = id.to_string();
        Box::pin(self.writer.write(move |connection| {
            for table in ["task_runs", "frames", "outbox"] {
                connection
                    .prepare_cached(&format!("DELETE FROM {table} WHERE execution_id = ?1"))?
                    .execute(params![id])?;
            }
            let deleted = connection
                .prepare_cached("DELETE FROM executions WHERE id = ?1")?
                .execute(params![id])?;
            Ok(deleted > 0)
        }))
    }

    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        let query = query.clone();
        Box::pin(
            self.writer
                .write(move |connection| purge(connection, &query, limit, logs)),
        )
    }
}
