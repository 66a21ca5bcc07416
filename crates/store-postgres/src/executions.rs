//! The executor's store (executions, task runs, frames, outbox) and the execution repository.
//!
//! A commit is one transaction holding one statement per table it touches: rows of a kind are
//! sent as arrays and unnested, so a step costs a few round trips whatever its size. An
//! execution is read back in one statement (task runs and frames as arrays of documents), so a
//! reader never sees half a commit.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{
    Error, ExecutionQuery, ExecutionRepository, Page, PurgeQuery, PurgedExecution,
};
use peregrine_ports::store::{
    Commit, ExecutionStore, OutboxRow, ParentLink, StoredExecution, Transition,
};
use serde_json::Value;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{QueryBuilder, Row};

use crate::{Failure, PostgresStore, answer, from_text, micros, to_text};

/// An execution with everything the executor needs back, read in one statement.
const STORED: &str = "SELECT e.header, e.root, e.parent, \
     ARRAY(SELECT t.doc FROM task_runs t WHERE t.execution_id = e.id ORDER BY t.position, t.id) AS runs, \
     ARRAY(SELECT f.task_run_id FROM frames f WHERE f.execution_id = e.id ORDER BY f.task_run_id) AS frame_ids, \
     ARRAY(SELECT f.doc FROM frames f WHERE f.execution_id = e.id ORDER BY f.task_run_id) AS frame_docs \
     FROM executions e";

/// An execution with its task runs, as the API shows it.
const EXECUTION: &str = "SELECT e.header, \
     ARRAY(SELECT t.doc FROM task_runs t WHERE t.execution_id = e.id ORDER BY t.position, t.id) AS runs \
     FROM executions e";

/// The items whose key was not given again later, in their order: a commit may carry a row
/// twice, and one statement cannot write a row twice.
fn last_per_key<K: Eq + Hash, T>(items: impl DoubleEndedIterator<Item = (K, T)>) -> Vec<T> {
    let mut seen = HashSet::new();
    let mut kept: Vec<T> = items
        .rev()
        .filter_map(|(key, item)| seen.insert(key).then_some(item))
        .collect();
    kept.reverse();
    kept
}

/// A state as stored in the `state` column (Kestra's name, `SUCCESS`).
fn state_name(state: peregrine_model::state::State) -> Result<String, Failure> {
    match serde_json::to_value(state)? {
        Value::String(name) => Ok(name),
        other => Ok(other.to_string()),
    }
}

fn execution(row: &PgRow) -> Result<Execution, Failure> {
    let mut execution: Execution = from_text(&row.try_get::<String, _>("header")?)?;
    execution.task_run_list = row
        .try_get::<Vec<String>, _>("runs")?
        .iter()
        .map(|doc| from_text(doc))
        .collect::<Result<_, _>>()?;
    Ok(execution)
}

fn stored(row: &PgRow) -> Result<StoredExecution, Failure> {
    let frame_ids: Vec<String> = row.try_get("frame_ids")?;
    let frame_docs: Vec<String> = row.try_get("frame_docs")?;
    let frames = frame_ids
        .into_iter()
        .zip(&frame_docs)
        .map(|(id, doc)| Ok((id, from_text(doc)?)))
        .collect::<Result<_, Failure>>()?;
    let root: Option<String> = row.try_get("root")?;
    let parent: Option<String> = row.try_get("parent")?;
    Ok(StoredExecution {
        execution: execution(row)?,
        frames,
        root: root.as_deref().map(from_text).transpose()?,
        parent: parent.as_deref().map(from_text::<ParentLink>).transpose()?,
    })
}

async fn write_transition(
    connection: &mut PgConnection,
    transition: &Transition,
) -> Result<(), Failure> {
    let id = transition.execution_id.as_str();
    let root = transition.root.as_ref().map(to_text).transpose()?;
    let parent = transition.parent.as_ref().map(to_text).transpose()?;
    if let Some(header) = &transition.header {
        sqlx::query(
            "INSERT INTO executions \
             (id, namespace, flow_id, state, terminated, started, header, root, parent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET \
             state = excluded.state, terminated = excluded.terminated, \
             started = excluded.started, header = excluded.header, \
             root = COALESCE(excluded.root, executions.root), \
             parent = COALESCE(excluded.parent, executions.parent)",
        )
        .bind(id)
        .bind(&header.namespace)
        .bind(&header.flow_id)
        .bind(state_name(header.state.current)?)
        .bind(header.state.is_terminated())
        .bind(header.state.started().map(micros))
        .bind(to_text(header)?)
        .bind(root)
        .bind(parent)
        .execute(&mut *connection)
        .await?;
    } else if root.is_some() || parent.is_some() {
        sqlx::query(
            "UPDATE executions SET root = COALESCE($2, root), parent = COALESCE($3, parent) \
             WHERE id = $1",
        )
        .bind(id)
        .bind(root)
        .bind(parent)
        .execute(&mut *connection)
        .await?;
    }
    if !transition.removed.is_empty() {
        sqlx::query(
            "WITH runs AS (DELETE FROM task_runs WHERE execution_id = $1 AND id = ANY($2)) \
             DELETE FROM frames WHERE execution_id = $1 AND task_run_id = ANY($2)",
        )
        .bind(id)
        .bind(&transition.removed)
        .execute(&mut *connection)
        .await?;
    }
    if !transition.task_runs.is_empty() {
        let runs = last_per_key(
            transition
                .task_runs
                .iter()
                .map(|(position, run)| (run.id.as_str(), (*position, run))),
        );
        let mut ids = Vec::with_capacity(runs.len());
        let mut positions = Vec::with_capacity(runs.len());
        let mut docs = Vec::with_capacity(runs.len());
        for (position, run) in runs {
            ids.push(run.id.as_str());
            positions.push(i64::try_from(position).unwrap_or(i64::MAX));
            docs.push(to_text(run)?);
        }
        sqlx::query(
            "INSERT INTO task_runs (execution_id, id, position, doc) \
             SELECT $1, r.id, r.position, r.doc \
             FROM UNNEST($2::text[], $3::bigint[], $4::text[]) AS r (id, position, doc) \
             ON CONFLICT (execution_id, id) DO UPDATE SET \
             position = excluded.position, doc = excluded.doc",
        )
        .bind(id)
        .bind(ids)
        .bind(positions)
        .bind(docs)
        .execute(&mut *connection)
        .await?;
    }
    if !transition.frames.is_empty() {
        let frames = last_per_key(
            transition
                .frames
                .iter()
                .map(|(task_run_id, frame)| (task_run_id.as_str(), (task_run_id, frame))),
        );
        let mut ids = Vec::with_capacity(frames.len());
        let mut docs = Vec::with_capacity(frames.len());
        for (task_run_id, frame) in frames {
            ids.push(task_run_id.as_str());
            docs.push(to_text(frame)?);
        }
        sqlx::query(
            "INSERT INTO frames (execution_id, task_run_id, doc) \
             SELECT $1, f.task_run_id, f.doc \
             FROM UNNEST($2::text[], $3::text[]) AS f (task_run_id, doc) \
             ON CONFLICT (execution_id, task_run_id) DO UPDATE SET doc = excluded.doc",
        )
        .bind(id)
        .bind(ids)
        .bind(docs)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// Deletes the outbox rows consumed, then writes the rows put.
async fn write_outbox(connection: &mut PgConnection, commit: &Commit) -> Result<(), Failure> {
    if !commit.done.is_empty() {
        let (executions, keys): (Vec<&str>, Vec<&str>) = commit
            .done
            .iter()
            .map(|(execution_id, key)| (execution_id.as_str(), key.as_str()))
            .unzip();
        sqlx::query(
            "DELETE FROM outbox o USING UNNEST($1::text[], $2::text[]) AS d (execution_id, key) \
             WHERE o.execution_id = d.execution_id AND o.key = d.key",
        )
        .bind(executions)
        .bind(keys)
        .execute(&mut *connection)
        .await?;
    }
    if !commit.done_prefix.is_empty() {
        let (executions, prefixes): (Vec<&str>, Vec<&str>) = commit
            .done_prefix
            .iter()
            .map(|(execution_id, prefix)| (execution_id.as_str(), prefix.as_str()))
            .unzip();
        sqlx::query(
            "DELETE FROM outbox o USING UNNEST($1::text[], $2::text[]) AS d (execution_id, prefix) \
             WHERE o.execution_id = d.execution_id AND starts_with(o.key, d.prefix)",
        )
        .bind(executions)
        .bind(prefixes)
        .execute(&mut *connection)
        .await?;
    }
    if !commit.put.is_empty() {
        let mut rows = last_per_key(
            commit
                .put
                .iter()
                .map(|row| ((row.execution_id.as_str(), row.key.as_str()), row)),
        );
        // Rows locked in one order by every writer, so two commits cannot deadlock on them.
        rows.sort_by(|a, b| (&a.execution_id, &a.key).cmp(&(&b.execution_id, &b.key)));
        let mut executions = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        let mut payloads = Vec::with_capacity(rows.len());
        for row in rows {
            executions.push(row.execution_id.as_str());
            keys.push(row.key.as_str());
            payloads.push(to_text(&row.payload)?);
        }
        sqlx::query(
            "INSERT INTO outbox (execution_id, key, payload) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT (execution_id, key) DO UPDATE SET payload = excluded.payload",
        )
        .bind(executions)
        .bind(keys)
        .bind(payloads)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

async fn write_commit(pool: &PgPool, commit: &Commit) -> Result<(), Failure> {
    if commit.is_empty() {
        return Ok(());
    }
    let mut transaction = pool.begin().await?;
    for transition in &commit.transitions {
        write_transition(&mut transaction, transition).await?;
    }
    write_outbox(&mut transaction, commit).await?;
    crate::logs::insert(&mut transaction, &commit.logs).await?;
    transaction.commit().await?;
    Ok(())
}

async fn load(pool: &PgPool, id: &str) -> Result<Option<StoredExecution>, Failure> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{STORED} WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(stored).transpose()
}

async fn unfinished(pool: &PgPool) -> Result<Vec<StoredExecution>, Failure> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{STORED} WHERE NOT e.terminated ORDER BY e.id"
    )))
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored).collect()
}

async fn outbox(pool: &PgPool) -> Result<Vec<OutboxRow>, Failure> {
    let rows =
        sqlx::query("SELECT execution_id, key, payload FROM outbox ORDER BY execution_id, key")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            Ok(OutboxRow {
                execution_id: row.try_get(0)?,
                key: row.try_get(1)?,
                payload: from_text(&row.try_get::<String, _>(2)?)?,
            })
        })
        .collect()
}

async fn get(pool: &PgPool, id: &str) -> Result<Option<Execution>, Failure> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{EXECUTION} WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(execution).transpose()
}

/// Adds the WHERE clause of a search.
fn push_filters(
    sql: &mut QueryBuilder<sqlx::Postgres>,
    query: &ExecutionQuery,
) -> Result<(), Failure> {
    sql.push(" WHERE TRUE");
    if let Some(namespace) = &query.namespace {
        sql.push(" AND ");
        crate::push_namespace_tree(sql, "e.namespace", namespace);
    }
    if let Some(flow_id) = &query.flow_id {
        sql.push(" AND e.flow_id = ").push_bind(flow_id.clone());
    }
    if !query.states.is_empty() {
        let names = query
            .states
            .iter()
            .map(|state| state_name(*state))
            .collect::<Result<Vec<_>, _>>()?;
        sql.push(" AND e.state = ANY(").push_bind(names).push(")");
    }
    Ok(())
}

async fn search(pool: &PgPool, query: &ExecutionQuery) -> Result<Page<Execution>, Failure> {
    let mut count = QueryBuilder::new("SELECT COUNT(*) FROM executions e");
    push_filters(&mut count, query)?;
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let size = query.size.max(1);
    let offset = query.page.saturating_sub(1).saturating_mul(size);
    let mut page = QueryBuilder::new(EXECUTION);
    push_filters(&mut page, query)?;
    page.push(" ORDER BY e.started DESC NULLS LAST, e.id LIMIT ")
        .push_bind(i64::try_from(size).unwrap_or(i64::MAX))
        .push(" OFFSET ")
        .push_bind(i64::try_from(offset).unwrap_or(i64::MAX));
    let rows = page.build().fetch_all(pool).await?;
    Ok(Page {
        results: rows.iter().map(execution).collect::<Result<_, _>>()?,
        total: usize::try_from(total).unwrap_or_default(),
    })
}

/// Removes the execution with its task runs, frames and outbox rows, in one statement.
async fn delete(pool: &PgPool, id: &str) -> Result<bool, Failure> {
    let deleted = sqlx::query(
        "WITH runs AS (DELETE FROM task_runs WHERE execution_id = $1), \
         frames AS (DELETE FROM frames WHERE execution_id = $1), \
         outbox AS (DELETE FROM outbox WHERE execution_id = $1) \
         DELETE FROM executions WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Removes the executions a purge picks (ended, matching, oldest started first) with their
/// task runs, frames, outbox rows and, when asked, their log lines, in one statement. The rows
/// picked are locked and checked again, so one a commit changes meanwhile (a restart) stays.
async fn purge(
    pool: &PgPool,
    query: &PurgeQuery,
    limit: usize,
    logs: bool,
) -> Result<Vec<PurgedExecution>, Failure> {
    let mut sql = QueryBuilder::new("WITH doomed AS (SELECT e.id FROM executions e");
    push_filters(
        &mut sql,
        &ExecutionQuery {
            namespace: query.namespace.clone(),
            flow_id: query.flow_id.clone(),
            states: query.states.clone(),
            ..ExecutionQuery::default()
        },
    )?;
    sql.push(" AND e.terminated AND e.started <= ")
        .push_bind(micros(query.started_before));
    if let Some(after) = query.started_after {
        sql.push(" AND e.started >= ").push_bind(micros(after));
    }
    sql.push(" ORDER BY e.started, e.id LIMIT ")
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .push(
            " FOR UPDATE), \
             runs AS (DELETE FROM task_runs WHERE execution_id IN (SELECT id FROM doomed)), \
             frames AS (DELETE FROM frames WHERE execution_id IN (SELECT id FROM doomed)), \
             outbox AS (DELETE FROM outbox WHERE execution_id IN (SELECT id FROM doomed)), \
             logs AS (DELETE FROM logs WHERE ",
        )
        .push_bind(logs)
        .push(
            " AND execution_id IN (SELECT id FROM doomed)) \
             DELETE FROM executions e USING doomed d WHERE e.id = d.id \
             RETURNING e.id, e.namespace, e.flow_id",
        );
    let rows = sql.build().fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|row| {
            Ok(PurgedExecution {
                id: row.try_get(0)?,
                namespace: row.try_get(1)?,
                flow_id: row.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?)
}

impl ExecutionStore for PostgresStore {
    fn commit(&self, commit: Arc<Commit>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move { answer(write_commit(&self.pool, &commit).await) })
    }

    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move { answer(load(&self.pool, &id).await) })
    }

    fn unfinished(&self) -> BoxFuture<'_, Result<Vec<StoredExecution>, Error>> {
        Box::pin(async move { answer(unfinished(&self.pool).await) })
    }

    fn outbox(&self) -> BoxFuture<'_, Result<Vec<OutboxRow>, Error>> {
        Box::pin(async move { answer(outbox(&self.pool).await) })
    }
}

impl ExecutionRepository for PostgresStore {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        let id = id.to_string();
        Box::pin(async move { answer(get(&self.pool, &id).await) })
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        let query = query.clone();
        Box::pin(async move { answer(search(&self.pool, &query).await) })
    }

    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let id = id.to_string();
        Box::pin(async move { answer(delete(&self.pool, &id).await) })
    }

    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        let query = query.clone();
        Box::pin(async move { answer(purge(&self.pool, &query, limit, logs).await) })
    }
}
