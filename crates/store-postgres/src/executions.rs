//! The executor's store (executions, task runs, frames, outbox) and the execution repository.
//!
//! A commit is one transaction holding one statement per table it touches: rows of a kind, of
//! every execution the commit carries, are sent as arrays and unnested, so a step costs a few
//! round trips whatever its size and however many executions it moved. An
//! execution is read back in one statement (task runs and frames as arrays of documents), so a
//! reader never sees half a commit.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::partition::Partitions;
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

/// The transitions cut into consecutive runs in which no execution comes twice: a run is
/// written with one statement per table, and a later transition of an execution still lands
/// after its earlier one.
fn distinct_runs(transitions: &[Transition]) -> Vec<&[Transition]> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut seen = HashSet::new();
    for (index, transition) in transitions.iter().enumerate() {
        if !seen.insert(transition.execution_id.as_str()) {
            runs.push(&transitions[start..index]);
            start = index;
            seen.clear();
            seen.insert(transition.execution_id.as_str());
        }
    }
    if start < transitions.len() {
        runs.push(&transitions[start..]);
    }
    runs
}

/// Writes transitions of distinct executions: the headers in one statement, then the task
/// runs, then the frames (a few round trips whatever the number of executions).
async fn write_transitions(
    connection: &mut PgConnection,
    transitions: &[Transition],
    partitions: u16,
) -> Result<(), Failure> {
    write_headers(connection, transitions, partitions).await?;
    for transition in transitions {
        write_links_and_removals(connection, transition).await?;
    }
    write_task_runs(connection, transitions).await?;
    write_frames(connection, transitions).await
}

/// Inserts or updates the executions whose transition carries a header, in the order of their
/// ids (the order every writer locks them in).
async fn write_headers(
    connection: &mut PgConnection,
    transitions: &[Transition],
    partitions: u16,
) -> Result<(), Failure> {
    let mut with_header: Vec<_> = transitions
        .iter()
        .filter_map(|transition| Some((transition, transition.header.as_ref()?)))
        .collect();
    if with_header.is_empty() {
        return Ok(());
    }
    with_header.sort_by(|a, b| a.0.execution_id.cmp(&b.0.execution_id));
    let count = with_header.len();
    let mut ids = Vec::with_capacity(count);
    let mut namespaces = Vec::with_capacity(count);
    let mut flow_ids = Vec::with_capacity(count);
    let mut states = Vec::with_capacity(count);
    let mut terminated = Vec::with_capacity(count);
    let mut started = Vec::with_capacity(count);
    let mut headers = Vec::with_capacity(count);
    let mut roots = Vec::with_capacity(count);
    let mut parents = Vec::with_capacity(count);
    let mut parts = Vec::with_capacity(count);
    for (transition, header) in with_header {
        ids.push(transition.execution_id.as_str());
        parts.push(crate::partitions::part_of(
            &transition.execution_id,
            partitions,
        ));
        namespaces.push(header.namespace.as_str());
        flow_ids.push(header.flow_id.as_str());
        states.push(state_name(header.state.current)?);
        terminated.push(header.state.is_terminated());
        started.push(header.state.started().map(micros));
        headers.push(to_text(header)?);
        roots.push(transition.root.as_ref().map(to_text).transpose()?);
        parents.push(transition.parent.as_ref().map(to_text).transpose()?);
    }
    sqlx::query(
        "INSERT INTO executions \
         (id, namespace, flow_id, state, terminated, started, header, root, parent, part) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], \
         $6::bigint[], $7::text[], $8::text[], $9::text[], $10::int2[]) \
         ON CONFLICT (id) DO UPDATE SET \
         state = excluded.state, terminated = excluded.terminated, part = excluded.part, \
         started = excluded.started, header = excluded.header, \
         root = COALESCE(excluded.root, executions.root), \
         parent = COALESCE(excluded.parent, executions.parent)",
    )
    .bind(ids)
    .bind(namespaces)
    .bind(flow_ids)
    .bind(states)
    .bind(terminated)
    .bind(started)
    .bind(headers)
    .bind(roots)
    .bind(parents)
    .bind(parts)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// What a transition changes beside its rows: the root and parent of an execution whose header
/// did not change, and the task runs it removed (with their frames). Both are rare.
async fn write_links_and_removals(
    connection: &mut PgConnection,
    transition: &Transition,
) -> Result<(), Failure> {
    let id = transition.execution_id.as_str();
    if transition.header.is_none() && (transition.root.is_some() || transition.parent.is_some()) {
        let root = transition.root.as_ref().map(to_text).transpose()?;
        let parent = transition.parent.as_ref().map(to_text).transpose()?;
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
    Ok(())
}

async fn write_task_runs(
    connection: &mut PgConnection,
    transitions: &[Transition],
) -> Result<(), Failure> {
    let mut executions = Vec::new();
    let mut ids = Vec::new();
    let mut positions = Vec::new();
    let mut docs = Vec::new();
    for transition in transitions {
        let runs = last_per_key(
            transition
                .task_runs
                .iter()
                .map(|(position, run)| (run.id.as_str(), (*position, run))),
        );
        for (position, run) in runs {
            executions.push(transition.execution_id.as_str());
            ids.push(run.id.as_str());
            positions.push(i64::try_from(position).unwrap_or(i64::MAX));
            docs.push(to_text(run)?);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO task_runs (execution_id, id, position, doc) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[]) \
         ON CONFLICT (execution_id, id) DO UPDATE SET \
         position = excluded.position, doc = excluded.doc",
    )
    .bind(executions)
    .bind(ids)
    .bind(positions)
    .bind(docs)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn write_frames(
    connection: &mut PgConnection,
    transitions: &[Transition],
) -> Result<(), Failure> {
    let mut executions = Vec::new();
    let mut ids = Vec::new();
    let mut docs = Vec::new();
    for transition in transitions {
        let frames = last_per_key(
            transition
                .frames
                .iter()
                .map(|(task_run_id, frame)| (task_run_id.as_str(), (task_run_id, frame))),
        );
        for (task_run_id, frame) in frames {
            executions.push(transition.execution_id.as_str());
            ids.push(task_run_id.as_str());
            docs.push(to_text(frame)?);
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO frames (execution_id, task_run_id, doc) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) \
         ON CONFLICT (execution_id, task_run_id) DO UPDATE SET doc = excluded.doc",
    )
    .bind(executions)
    .bind(ids)
    .bind(docs)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Deletes the outbox rows consumed, then writes the rows put.
async fn write_outbox(
    connection: &mut PgConnection,
    commit: &Commit,
    partitions: u16,
) -> Result<(), Failure> {
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
        let mut parts = Vec::with_capacity(rows.len());
        for row in rows {
            executions.push(row.execution_id.as_str());
            parts.push(crate::partitions::part_of(&row.execution_id, partitions));
            keys.push(row.key.as_str());
            payloads.push(to_text(&row.payload)?);
        }
        sqlx::query(
            "INSERT INTO outbox (execution_id, key, payload, part) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int2[]) \
             ON CONFLICT (execution_id, key) DO UPDATE SET payload = excluded.payload, \
             claimed_by = NULL, lease_until = NULL, claims = 0, killed = FALSE",
        )
        .bind(executions)
        .bind(keys)
        .bind(payloads)
        .bind(parts)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

/// The prefixes of the rows a commit puts, each once.
fn announced(commit: &Commit) -> Vec<String> {
    let keys = commit.put.iter().map(|row| row.key.as_str());
    peregrine_ports::wakeups::key_prefixes(keys)
        .into_iter()
        .map(str::to_string)
        .collect()
}

/// Writes the commit in one transaction, if `fence` (when set) still holds the executor's
/// lease; returns the prefixes it announced.
async fn write_commit(
    pool: &PgPool,
    commit: &Commit,
    fence: Option<&peregrine_ports::lease::Fence>,
    partition_fence: Option<&peregrine_ports::lease::PartitionFence>,
    partitions: u16,
) -> Result<Vec<String>, Failure> {
    if commit.is_empty() {
        return Ok(Vec::new());
    }
    let mut transaction = pool.begin().await?;
    if let Some(fence) = fence
        && !crate::lease::holds(&mut transaction, fence).await?
    {
        return Err(Failure::Fenced(fence.clone()));
    }
    if let Some(fence) = partition_fence
        && let Some(refused) =
            crate::partition_lease::check(&mut transaction, fence, commit, partitions).await?
    {
        return Err(Failure::PartitionFenced(refused));
    }
    for transitions in distinct_runs(&commit.transitions) {
        write_transitions(&mut transaction, transitions, partitions).await?;
    }
    write_outbox(&mut transaction, commit, partitions).await?;
    crate::logs::insert(&mut transaction, &commit.logs).await?;
    let announced = announced(commit);
    if !announced.is_empty() {
        sqlx::query("SELECT pg_notify($1, p) FROM UNNEST($2::text[]) AS p")
            .bind(crate::queue::CHANNEL)
            .bind(&announced)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(announced)
}

async fn load(pool: &PgPool, id: &str) -> Result<Option<StoredExecution>, Failure> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{STORED} WHERE e.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(stored).transpose()
}

async fn unfinished(
    pool: &PgPool,
    partitions: &Partitions,
) -> Result<Vec<StoredExecution>, Failure> {
    // `$1` NULL: every partition.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{STORED} WHERE NOT e.terminated AND ($1::int2[] IS NULL OR e.part = ANY($1)) \
         ORDER BY e.id"
    )))
    .bind(crate::partitions::restriction(partitions))
    .fetch_all(pool)
    .await?;
    rows.iter().map(stored).collect()
}

async fn outbox(pool: &PgPool, partitions: &Partitions) -> Result<Vec<OutboxRow>, Failure> {
    let rows = sqlx::query(
        "SELECT execution_id, key, payload FROM outbox \
         WHERE $1::int2[] IS NULL OR part = ANY($1) ORDER BY execution_id, key",
    )
    .bind(crate::partitions::restriction(partitions))
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
        Box::pin(async move {
            let fence = self.fence.lock().ok().and_then(|fence| fence.clone());
            let partition_fence = self
                .partition_fence
                .lock()
                .ok()
                .and_then(|fence| fence.clone());
            let written = write_commit(
                &self.pool,
                &commit,
                fence.as_ref(),
                partition_fence.as_ref(),
                self.partitions,
            )
            .await;
            for prefix in answer(written)? {
                self.notices.notify(&prefix);
            }
            Ok(())
        })
    }

    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move { answer(load(&self.pool, &id).await) })
    }

    fn unfinished<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<StoredExecution>, Error>> {
        Box::pin(async move { answer(unfinished(&self.pool, partitions).await) })
    }

    fn outbox<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        Box::pin(async move { answer(outbox(&self.pool, partitions).await) })
    }

    fn partition_count(&self) -> u16 {
        self.partitions
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(runs: &[&[Transition]]) -> Vec<Vec<String>> {
        runs.iter()
            .map(|run| run.iter().map(|t| t.execution_id.clone()).collect())
            .collect()
    }

    #[test]
    fn a_run_never_holds_an_execution_twice() {
        let transitions: Vec<Transition> = ["a", "b", "a", "c", "c", "b"]
            .into_iter()
            .map(|id| Transition {
                execution_id: id.into(),
                ..Transition::default()
            })
            .collect();
        let expected: Vec<Vec<String>> = vec![
            vec!["a".into(), "b".into()],
            vec!["a".into(), "c".into()],
            vec!["c".into(), "b".into()],
        ];
        assert_eq!(ids(&distinct_runs(&transitions)), expected);
        assert!(distinct_runs(&[]).is_empty());
    }
}
