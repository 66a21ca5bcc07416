//! The outbox rows an execution owes: their keys and payloads. A row is written in the commit
//! of the step that causes it and deleted in the commit of the step that consumes it, so after a
//! crash every row still present is carried out again (see `recovery.rs`).

use peregrine_engine::{Effect, SubflowStart, TimerKind, WorkerJob};
use peregrine_model::state::State;
use peregrine_ports::store::{OutboxRow, ParentLink};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A runnable task run sent to a worker: deleted when the task run ends.
pub(crate) const JOB: &str = peregrine_ports::queue::JOBS;
/// A timer: deleted when it fires (or the execution ends).
pub(crate) const TIMER: &str = "timer:";
/// A subflow to start: deleted by the child's first commit.
pub(crate) const SUBFLOW: &str = "subflow:";
/// The end of a subflow, owed to its waiting parent: deleted by the parent's commit.
pub(crate) const ENDED: &str = "ended";
/// A failed execution to run again as a new one: deleted by the new one's first commit.
pub(crate) const REPLAY: &str = "replay";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TimerRow {
    pub at: jiff::Timestamp,
    pub kind: TimerKind,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct EndedRow {
    pub parent: ParentLink,
    pub state: State,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ReplayRow {
    pub at: jiff::Timestamp,
}

pub(crate) use peregrine_ports::queue::job_key;

pub(crate) fn timer_key(kind: &TimerKind) -> String {
    format!("{TIMER}{}", serde_json::to_string(kind).unwrap_or_default())
}

pub(crate) fn subflow_key(child_id: &str) -> String {
    format!("{SUBFLOW}{child_id}")
}

fn row(execution_id: &str, key: String, payload: impl Serialize) -> Option<OutboxRow> {
    Some(OutboxRow {
        execution_id: execution_id.to_string(),
        key,
        payload: serde_json::to_value(payload).ok()?,
    })
}

/// The row an effect owes, if it must survive a crash.
pub(crate) fn row_of(
    execution_id: &str,
    effect: &Effect,
    parent: Option<&ParentLink>,
) -> Option<OutboxRow> {
    match effect {
        Effect::RunTask(job) => row(execution_id, job_key(&job.task_run.id), job),
        Effect::SetTimer { at, kind } => row(
            execution_id,
            timer_key(kind),
            TimerRow {
                at: *at,
                kind: kind.clone(),
            },
        ),
        Effect::StartSubflow(start) => row(execution_id, subflow_key(&start.execution_id), start),
        Effect::Ended(state) => {
            let parent = parent?.clone();
            row(
                execution_id,
                ENDED.into(),
                EndedRow {
                    parent,
                    state: *state,
                },
            )
        }
        Effect::ReplayExecution { at } => row(execution_id, REPLAY.into(), ReplayRow { at: *at }),
        Effect::KillTasks | Effect::ReleaseDirectory { .. } | Effect::Log(_) => None,
    }
}

/// A row read back after a restart.
pub(crate) enum Pending {
    Job(Box<WorkerJob>),
    Timer(TimerRow),
    Subflow(Box<SubflowStart>),
    Ended(EndedRow),
    Replay(ReplayRow),
    /// A worker's report or a command of another process, read by `remote.rs`.
    FromRow,
}

pub(crate) fn read(row: &OutboxRow) -> Result<Pending, String> {
    fn parse<T: serde::de::DeserializeOwned>(payload: &Value) -> Result<T, String> {
        serde_json::from_value(payload.clone()).map_err(|error| error.to_string())
    }
    let key = row.key.as_str();
    if key.starts_with(peregrine_ports::queue::RESULTS)
        || key.starts_with(peregrine_ports::queue::COMMANDS)
    {
        Ok(Pending::FromRow)
    } else if key.starts_with(JOB) {
        parse(&row.payload).map(|job| Pending::Job(Box::new(job)))
    } else if key.starts_with(TIMER) {
        parse(&row.payload).map(Pending::Timer)
    } else if key.starts_with(SUBFLOW) {
        parse(&row.payload).map(|start| Pending::Subflow(Box::new(start)))
    } else if key == ENDED {
        parse(&row.payload).map(Pending::Ended)
    } else if key == REPLAY {
        parse(&row.payload).map(Pending::Replay)
    } else {
        Err(format!("unknown outbox row '{key}'"))
    }
}
