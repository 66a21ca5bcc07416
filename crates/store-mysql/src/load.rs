//! Reading executions back: the header, task runs, root, parent and frames of every execution
//! asked for, in one statement (so one consistent snapshot, even while commits land).

use std::collections::BTreeMap;

use peregrine_model::execution::{Execution, TaskRun};
use peregrine_ports::repository::Error;
use peregrine_ports::store::{ParentLink, StoredExecution};
use serde_json::Value;
use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, Row};

use crate::batch::marks;
use crate::{backend, from_text};

/// Which executions to read.
pub(crate) enum Which<'a> {
    One(&'a str),
    Some(&'a [String]),
    /// The executions not ended, of these partitions only when given.
    Unfinished(Option<&'a [u16]>),
}

impl Which<'_> {
    /// The condition on `column`, an execution id.
    fn condition(&self, column: &str) -> String {
        match self {
            Which::One(_) => format!("{column} = ?"),
            Which::Some(ids) => format!("{column} IN ({})", marks(ids.len())),
            Which::Unfinished(None) => {
                format!("{column} IN (SELECT id FROM executions WHERE ended = FALSE)")
            }
            // Numbers, written into the statement.
            Which::Unfinished(Some(parts)) => format!(
                "{column} IN (SELECT id FROM executions WHERE ended = FALSE AND part IN ({}))",
                crate::partitions::numbers(parts)
            ),
        }
    }

    fn ids(&self) -> Vec<&str> {
        match self {
            Which::One(id) => vec![id],
            Which::Some(ids) => ids.iter().map(String::as_str).collect(),
            Which::Unfinished(_) => Vec::new(),
        }
    }
}

/// What to read of each execution.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parts {
    /// The execution with its task runs, as the API shows it.
    Execution,
    /// Also the root frame, the parent and the frames, as the executor resumes it.
    Stored,
}

// The `part` column of each row.
const HEADER: i64 = 0;
const TASK_RUN: i64 = 1;
const ROOT: i64 = 2;
const PARENT: i64 = 3;
const FRAME: i64 = 4;

fn statement(which: &Which<'_>, parts: Parts) -> String {
    let on_executions = which.condition("id");
    let on_children = which.condition("execution_id");
    let mut selects = vec![
        format!(
            "SELECT id AS execution_id, {HEADER} AS part, NULL AS name, header AS doc, \
             0 AS position FROM executions WHERE {on_executions}"
        ),
        format!(
            "SELECT execution_id, {TASK_RUN}, id, doc, position FROM task_runs \
             WHERE {on_children}"
        ),
    ];
    if parts == Parts::Stored {
        selects.push(format!(
            "SELECT id, {ROOT}, NULL, root, 0 FROM executions \
             WHERE {on_executions} AND root IS NOT NULL"
        ));
        selects.push(format!(
            "SELECT id, {PARENT}, NULL, parent, 0 FROM executions \
             WHERE {on_executions} AND parent IS NOT NULL"
        ));
        selects.push(format!(
            "SELECT execution_id, {FRAME}, task_run_id, doc, 0 FROM frames \
             WHERE {on_children}"
        ));
    }
    selects.join(" UNION ALL ")
}

/// One row of the statement.
struct Part {
    execution_id: String,
    part: i64,
    name: Option<String>,
    doc: String,
    position: i64,
}

/// An execution being put together from its rows.
#[derive(Default)]
struct Pieces {
    header: Option<Execution>,
    task_runs: Vec<TaskRun>,
    root: Option<Value>,
    parent: Option<ParentLink>,
    frames: Vec<(String, Value)>,
}

/// The executions asked for that exist, sorted by id.
pub(crate) async fn fetch(
    pool: &MySqlPool,
    which: Which<'_>,
    parts: Parts,
) -> Result<Vec<StoredExecution>, Error> {
    let ids = which.ids();
    if matches!(which, Which::Some(ids) if ids.is_empty()) {
        return Ok(Vec::new());
    }
    let selects = if parts == Parts::Stored { 5 } else { 2 };
    let mut query = sqlx::query(AssertSqlSafe(statement(&which, parts)));
    for _ in 0..selects {
        for id in &ids {
            query = query.bind(*id);
        }
    }
    let rows = query.fetch_all(pool).await.map_err(backend)?;
    let mut found = rows
        .iter()
        .map(|row| {
            Ok(Part {
                execution_id: row.try_get(0)?,
                part: row.try_get(1)?,
                name: row.try_get(2)?,
                doc: row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                position: row.try_get(4)?,
            })
        })
        .collect::<Result<Vec<Part>, sqlx::Error>>()
        .map_err(backend)?;
    found.sort_by(|a, b| {
        (&a.execution_id, a.part, a.position, &a.name).cmp(&(
            &b.execution_id,
            b.part,
            b.position,
            &b.name,
        ))
    });
    let mut executions: BTreeMap<String, Pieces> = BTreeMap::new();
    for row in found {
        let execution = executions.entry(row.execution_id).or_default();
        match row.part {
            HEADER => execution.header = Some(from_text("executions", &row.doc)?),
            TASK_RUN => execution.task_runs.push(from_text("task_runs", &row.doc)?),
            ROOT => execution.root = Some(from_text("executions", &row.doc)?),
            PARENT => execution.parent = Some(from_text("executions", &row.doc)?),
            FRAME => execution
                .frames
                .push((row.name.unwrap_or_default(), from_text("frames", &row.doc)?)),
            _ => {}
        }
    }
    Ok(executions
        .into_values()
        .filter_map(|parts| {
            let mut execution = parts.header?;
            execution.task_run_list = parts.task_runs;
            Some(StoredExecution {
                execution,
                frames: parts.frames,
                root: parts.root,
                parent: parts.parent,
            })
        })
        .collect())
}
