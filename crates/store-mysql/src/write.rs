//! One commit of the executor's store: encoded first, then written in one transaction that
//! runs again when the server picks it as a deadlock victim.

use peregrine_model::execution::Execution;
use peregrine_ports::repository::Error;
use peregrine_ports::store::{Commit, Transition};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::mysql::{MySqlConnection, MySqlPool};

use crate::batch::{self, any_of, marks, runs, tuples};
use crate::logs::{self, EncodedLog};
use crate::{backend, like_prefix, to_text};

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

async fn write_header(
    connection: &mut MySqlConnection,
    id: &str,
    header: &Header,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO executions (id, namespace, flow_id, state, ended, started, header) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE \
         state = VALUES(state), ended = VALUES(ended), started = VALUES(started), \
         header = VALUES(header)",
    )
    .bind(id)
    .bind(&header.namespace)
    .bind(&header.flow_id)
    .bind(&header.state)
    .bind(header.ended)
    .bind(header.started)
    .bind(&header.doc)
    .execute(&mut *connection)
    .await
    .map(|_| ())
}

async fn write_transition(
    connection: &mut MySqlConnection,
    transition: &EncodedTransition<'_>,
) -> Result<(), sqlx::Error> {
    let id = transition.id;
    if let Some(header) = &transition.header {
        write_header(connection, id, header).await?;
    }
    if transition.root.is_some() || transition.parent.is_some() {
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
    for task_runs in runs(&transition.task_runs, |(_, _, doc)| doc.len()) {
        let sql = format!(
            "INSERT INTO task_runs (execution_id, id, position, doc) VALUES {} \
             ON DUPLICATE KEY UPDATE position = VALUES(position), doc = VALUES(doc)",
            tuples(task_runs.len(), 4)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (task_run_id, position, doc) in task_runs {
            query = query.bind(id).bind(*task_run_id).bind(*position).bind(doc);
        }
        query.execute(&mut *connection).await?;
    }
    for frames in runs(&transition.frames, |(_, doc)| doc.len()) {
        let sql = format!(
            "INSERT INTO frames (execution_id, task_run_id, doc) VALUES {} \
             ON DUPLICATE KEY UPDATE doc = VALUES(doc)",
            tuples(frames.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (task_run_id, doc) in frames {
            query = query.bind(id).bind(*task_run_id).bind(doc);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Writes the commit in the caller's transaction, in the SQLite backend's order: transitions,
/// consumed rows, new rows, logs.
async fn write(
    connection: &mut MySqlConnection,
    commit: &EncodedCommit<'_>,
) -> Result<(), sqlx::Error> {
    for transition in &commit.transitions {
        write_transition(connection, transition).await?;
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
            "INSERT INTO outbox (execution_id, `key`, payload) VALUES {} \
             ON DUPLICATE KEY UPDATE payload = VALUES(payload)",
            tuples(put.len(), 3)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (execution_id, key, payload) in put {
            query = query.bind(*execution_id).bind(*key).bind(payload);
        }
        query.execute(&mut *connection).await?;
    }
    logs::insert(connection, &commit.logs).await
}

/// Commits `commit` atomically; returns once the server has committed it.
pub(crate) async fn commit(pool: &MySqlPool, commit: &Commit) -> Result<(), Error> {
    if commit.is_empty() {
        return Ok(());
    }
    let encoded = encode(commit)?;
    let mut attempt = 1;
    loop {
        let result = async {
            let mut transaction = pool.begin().await?;
            write(&mut transaction, &encoded).await?;
            transaction.commit().await
        }
        .await;
        match result {
            Err(error) if batch::is_retryable(&error) && attempt < batch::ATTEMPTS => attempt += 1,
            result => return result.map_err(backend),
        }
    }
}
