//! One commit of the executor's store: encoded first, then written in one transaction that
//! runs again when the server picks it as a deadlock victim. Rows of a kind, of every execution
//! the commit moved, go in multi-row upserts cut to fit `max_allowed_packet`, so a commit costs
//! a few round trips however many executions it carries.

use std::collections::HashSet;

use peregrine_model::execution::Execution;
use peregrine_ports::lease::{Fence, PartitionFence};
use peregrine_ports::repository::Error;
use peregrine_ports::store::{Commit, Transition};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::mysql::{MySqlConnection, MySqlPool};

use crate::batch::{self, any_of, marks, runs, tuples};
use crate::logs::{self, EncodedLog};
use crate::{backend, like_prefix, to_text};
use crate::{lease, partition_lease};

/// The execution row a header writes.
struct Header {
    namespace: String,
    flow_id: String,
    state: String,
    ended: bool,
    started: Option<i64>,
    doc: String,
}

/// A transition with its documents as JSON text.
struct EncodedTransition<'a> {
    id: &'a str,
    header: Option<Header>,
    root: Option<String>,
    parent: Option<String>,
    removed: &'a [String],
    task_runs: Vec<(&'a str, i64, String)>,
    frames: Vec<(&'a str, String)>,
}

/// A commit with its documents as JSON text, so a retried transaction encodes nothing again.
struct EncodedCommit<'a> {
    transitions: Vec<EncodedTransition<'a>>,
    done: &'a [(String, String)],
    done_prefix: Vec<(&'a str, String)>,
    put: Vec<(&'a str, &'a str, String)>,
    logs: Vec<EncodedLog<'a>>,
}

/// A state as stored in the `state` column (Kestra's name, `SUCCESS`).
fn state_name(execution: &Execution) -> Result<String, Error> {
    match serde_json::to_value(execution.state.current).map_err(crate::encode_error)? {
        Value::String(name) => Ok(name),
        other => Ok(other.to_string()),
    }
}

fn encode_transition(transition: &Transition) -> Result<EncodedTransition<'_>, Error> {
    let header = match &transition.header {
        None => None,
        Some(header) => Some(Header {
            namespace: header.namespace.clone(),
            flow_id: header.flow_id.clone(),
            state: state_name(header)?,
            ended: header.state.is_terminated(),
            started: header.state.started().map(|date| date.as_millisecond()),
            doc: to_text(header)?,
        }),
    };
    let mut task_runs = transition
        .task_runs
        .iter()
        .map(|(position, run)| {
            let position = i64::try_from(*position).unwrap_or(i64::MAX);
            Ok((run.id.as_str(), position, to_text(run)?))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut frames = transition
        .frames
        .iter()
        .map(|(id, frame)| Ok((id.as_str(), to_text(frame)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    // Rows are locked in the order written: key order everywhere keeps two writers of the same
    // rows from locking them in opposite orders. The sorts are stable: of two writes of one
    // key, the later still wins.
    task_runs.sort_by_key(|(id, _, _)| *id);
    frames.sort_by_key(|(id, _)| *id);
    Ok(EncodedTransition {
        id: &transition.execution_id,
        header,
        root: transition.root.as_ref().map(to_text).transpose()?,
        parent: transition.parent.as_ref().map(to_text).transpose()?,
        removed: &transition.removed,
        task_runs,
        frames,
    })
}

fn encode(commit: &Commit) -> Result<EncodedCommit<'_>, Error> {
    let mut put = commit
        .put
        .iter()
        .map(|row| {
            let payload = to_text(&row.payload)?;
            Ok((row.execution_id.as_str(), row.key.as_str(), payload))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    put.sort_by_key(|(execution_id, key, _)| (*execution_id, *key));
    Ok(EncodedCommit {
        transitions: commit
            .transitions
            .iter()
            .map(encode_transition)
            .collect::<Result<_, Error>>()?,
        done: &commit.done,
        done_prefix: commit
            .done_prefix
            .iter()
            .map(|(id, prefix)| (id.as_str(), like_prefix(prefix)))
            .collect(),
        put,
        logs: logs::encode(&commit.logs)?,
    })
}

/// The transitions cut into consecutive runs in which no execution comes twice: a run is
/// written with one statement per table (more when its rows overflow one statement), and a
/// later transition of an execution still lands after its earlier one.
fn distinct_runs<'t, 'a>(
    transitions: &'t [EncodedTransition<'a>],
) -> Vec<&'t [EncodedTransition<'a>]> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut seen = HashSet::new();
    for (index, transition) in transitions.iter().enumerate() {
        if !seen.insert(transition.id) {
            runs.push(&transitions[start..index]);
            start = index;
            seen.clear();
            seen.insert(transition.id);
        }
    }
    if start < transitions.len() {
        runs.push(&transitions[start..]);
    }
    runs
}

/// Inserts or updates the executions whose transition carries a header, root and parent
/// included, in the order of their ids (the order every writer locks them in).
async fn write_headers(
    connection: &mut MySqlConnection,
    transitions: &[&EncodedTransition<'_>],
    partitions: u16,
) -> Result<(), sqlx::Error> {
    let headers: Vec<_> = transitions
        .iter()
        .filter_map(|transition| Some((*transition, transition.header.as_ref()?)))
        .collect();
    let size = |(transition, header): &(&EncodedTransition, &Header)| {
        header.doc.len()
            + transition.root.as_ref().map_or(0, String::len)
            + transition.parent.as_ref().map_or(0, String::len)
    };
    for headers in runs(&headers, size) {
        let sql = format!(
            "INSERT INTO executions \
             (id, namespace, flow_id, state, ended, started, header, root, parent, part) \
             VALUES {} ON DUPLICATE KEY UPDATE part = VALUES(part), \
             state = VALUES(state), ended = VALUES(ended), started = VALUES(started), \
             header = VALUES(header), root = COALESCE(VALUES(root), root), \
             parent = COALESCE(VALUES(parent), parent)",
            tuples(headers.len(), 10)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (transition, header) in headers {
            query = query
                .bind(transition.id)
                .bind(&header.namespace)
                .bind(&header.flow_id)
                .bind(&header.state)
                .bind(header.ended)
                .bind(header.started)
                .bind(&header.doc)
                .bind(&transition.root)
                .bind(&transition.parent)
                .bind(crate::partitions::part_of(transition.id, partitions));
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// What a transition changes beside its rows: the root and parent of an execution whose header
/// did not change, and the task runs it removed (with their frames). Both are rare.
async fn write_links_and_removals(
    connection: &mut MySqlConnection,
    transition: &EncodedTransition<'_>,
) -> Result<(), sqlx::Error> {
    let id = transition.id;
    if transition.header.is_none() && (transition.root.is_some() || transition.parent.is_some()) {
        sqlx::query(
            "UPDATE executions SET root = COALESCE(?, root), parent = COALESCE(?, parent) \
             WHERE id = ?",
        )
        .bind(&transition.root)
        .bind(&transition.parent)
        .bind(id)
        .execute(&mut *connection)
        .await?;
    }
    for removed in runs(transition.removed, |_| 0) {
        for (table, column) in [("task_runs", "id"), ("frames", "task_run_id")] {
            let sql = format!(
                "DELETE FROM {table} WHERE execution_id = ? AND {column} IN ({})",
                marks(removed.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(id);
            for task_run_id in removed {
                query = query.bind(task_run_id);
            }
            query.execute(&mut *connection).await?;
        }
    }
    Ok(())
}

/// The task runs of every transition, as (execution id, task run id, position, document).
async fn write_task_runs(
    connection: &mut MySqlConnection,
    transitions: &[&EncodedTransition<'_>],
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = transitions
        .iter()
        .flat_map(|transition| {
            transition
                .task_runs
                .iter()
                .map(|(task_run_id, position, doc)| (transition.id, *task_run_id, *position, doc))
        })
        .collect();
    for rows in runs(&rows, |(_, _, _, doc)| doc.len()) {
        let sql = format!(
            "INSERT INTO task_runs (execution_id, id, position, doc) VALUES {} \
             ON DUPLICATE KEY UPDATE position = VALUES(position), doc = VALUES(doc)",
            tuples(rows.len(), 4)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution_id, task_run_id, position, doc) in rows {
            query = query
                .bind(*execution_id)
                .bind(*task_run_id)
                .bind(*position)
                .bind(*doc);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

async fn write_frames(
    connection: &mut MySqlConnection,
    transitions: &[&EncodedTransition<'_>],
) -> Result<(), sqlx::Error> {
    let rows: Vec<_> = transitions
        .iter()
        .flat_map(|transition| {
            transition
                .frames
                .iter()
                .map(|(task_run_id, doc)| (transition.id, *task_run_id, doc))
        })
        .collect();
    for rows in runs(&rows, |(_, _, doc)| doc.len()) {
        let sql = format!(
            "INSERT INTO frames (execution_id, task_run_id, doc) VALUES {} \
             ON DUPLICATE KEY UPDATE doc = VALUES(doc)",
            tuples(rows.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution_id, task_run_id, doc) in rows {
            query = query.bind(*execution_id).bind(*task_run_id).bind(*doc);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Writes transitions of distinct executions, taken in the order of their ids: the headers,
/// then the removals, then the task runs, then the frames. Within a table rows go in key order
/// (execution, then the transition's own sorted order), so two writers lock shared rows in
/// the same order.
async fn write_transitions(
    connection: &mut MySqlConnection,
    transitions: &[EncodedTransition<'_>],
    partitions: u16,
) -> Result<(), sqlx::Error> {
    let mut by_id: Vec<&EncodedTransition> = transitions.iter().collect();
    by_id.sort_by_key(|transition| transition.id);
    write_headers(connection, &by_id, partitions).await?;
    for transition in &by_id {
        write_links_and_removals(connection, transition).await?;
    }
    write_task_runs(connection, &by_id).await?;
    write_frames(connection, &by_id).await
}

/// Writes the commit in the caller's transaction, in the SQLite backend's order: transitions,
/// consumed rows, new rows, logs. The transitions of every execution the commit carries share
/// one statement per table (a few, for a commit too big for one).
async fn write(
    connection: &mut MySqlConnection,
    commit: &EncodedCommit<'_>,
    partitions: u16,
) -> Result<(), sqlx::Error> {
    for transitions in distinct_runs(&commit.transitions) {
        write_transitions(connection, transitions, partitions).await?;
    }
    for done in runs(commit.done, |_| 0) {
        let sql = format!(
            "DELETE FROM outbox WHERE {}",
            any_of("execution_id = ? AND `key` = ?", done.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution_id, key) in done {
            query = query.bind(execution_id).bind(key);
        }
        query.execute(&mut *connection).await?;
    }
    for done in runs(&commit.done_prefix, |_| 0) {
        let sql = format!(
            "DELETE FROM outbox WHERE {}",
            any_of("execution_id = ? AND `key` LIKE ? ESCAPE '|'", done.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution_id, pattern) in done {
            query = query.bind(*execution_id).bind(pattern);
        }
        query.execute(&mut *connection).await?;
    }
    for put in runs(&commit.put, |(_, _, payload)| payload.len()) {
        let sql = format!(
            "INSERT INTO outbox (execution_id, `key`, payload, part) VALUES {} \
             ON DUPLICATE KEY UPDATE payload = VALUES(payload), claimed_by = NULL, \
             lease_until = NULL, claims = 0, killed = FALSE",
            tuples(put.len(), 4)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution_id, key, payload) in put {
            query = query
                .bind(*execution_id)
                .bind(*key)
                .bind(payload)
                .bind(crate::partitions::part_of(execution_id, partitions));
        }
        query.execute(&mut *connection).await?;
    }
    logs::insert(connection, &commit.logs).await
}

/// Commits `commit` atomically; returns once the server has committed it. With a `fence`, the
/// transaction first checks that it still holds the executor's lease, and writes nothing but
/// returns [`Error::Conflict`] when it does not.
pub(crate) async fn commit(
    pool: &MySqlPool,
    commit: &Commit,
    fence: Option<&Fence>,
    partition_fence: Option<&PartitionFence>,
    partitions: u16,
) -> Result<(), Error> {
    if commit.is_empty() {
        return Ok(());
    }
    let encoded = encode(commit)?;
    let mut attempt = 1;
    loop {
        let result = async {
            let mut transaction = pool.begin().await?;
            if let Some(fence) = fence
                && let Some(refused) = lease::check(&mut transaction, fence).await?
            {
                transaction.rollback().await?;
                return Ok(Err(Error::Conflict(refused)));
            }
            if let Some(fence) = partition_fence
                && let Some(refused) =
                    partition_lease::check(&mut transaction, fence, commit, partitions).await?
            {
                transaction.rollback().await?;
                return Ok(Err(Error::Conflict(format!("mysql: {refused}"))));
            }
            write(&mut transaction, &encoded, partitions).await?;
            transaction.commit().await.map(Ok)
        }
        .await;
        match result {
            Err(error) if batch::is_retryable(&error) && attempt < batch::ATTEMPTS => attempt += 1,
            Err(error) => return Err(backend(error)),
            Ok(written) => return written,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(id: &str) -> EncodedTransition<'_> {
        EncodedTransition {
            id,
            header: None,
            root: None,
            parent: None,
            removed: &[],
            task_runs: Vec::new(),
            frames: Vec::new(),
        }
    }

    #[test]
    fn a_run_never_holds_an_execution_twice() {
        let transitions: Vec<_> = ["a", "b", "a", "c", "c", "b"]
            .into_iter()
            .map(transition)
            .collect();
        let ids: Vec<Vec<&str>> = distinct_runs(&transitions)
            .iter()
            .map(|run| run.iter().map(|transition| transition.id).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "b"], vec!["a", "c"], vec!["c", "b"]]);
        assert!(distinct_runs(&[]).is_empty());
    }
}
