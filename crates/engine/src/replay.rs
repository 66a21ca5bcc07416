//! Replay from a task run: a new execution made of an ended one (Kestra's
//! `ExecutionService.replay` with a task run id). The task runs that are not successors of the
//! chosen one are copied with new ids, outputs included; the chosen one and everything after it
//! (later items of its container and of each container above it, their `errors` and `finally`
//! branches, everything under them) are left out, so they run again.
//!
//! The new execution keeps the old one's inputs, labels, trigger and variables; its `parentId` is
//! the old execution, its `originalId` the old one's original, its attempt number the next; its
//! state history is the old one's with a RESTARTED entry. The chosen task run is kept with
//! RESTARTED (RUNNING for a flowable, as are the flowables above it), as Kestra keeps it.
//!
//! What continues it is the engine's restart rule: a restart runs failed task runs again and
//! resumes the flowables above them. [`Replayed::to_restart`] is the execution the executor takes
//! back before [`crate::Event::Restart`]: the same task runs, with the chosen one (and the
//! execution) marked FAILED without a history entry, so that rule picks exactly the chosen one.
//! Replaying from the start needs nothing of this: it is a new execution of the same inputs
//! ([`crate::NewExecution`] with [`crate::ReplayOf`]).

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use peregrine_model::execution::{Execution, TaskRun};
use peregrine_model::state::State;

use crate::plan::FlowPlan;
use crate::state::{Frame, Item, Strategy};

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReplayError {
    #[error("taskRunId '{task_run_id}' is not a task run of execution '{execution_id}'")]
    UnknownTaskRun {
        execution_id: String,
        task_run_id: String,
    },
}

/// The execution to replay and where from.
#[derive(Clone, Copy, Debug)]
pub struct ReplayFrom<'a> {
    pub old: &'a Execution,
    /// The old execution's frames (by task run id) and root frame.
    pub frames: &'a HashMap<String, Frame>,
    pub root: &'a Frame,
    pub task_run_id: &'a str,
}

/// The new execution, as first committed and as handed to the executor.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// What is committed first and answered to the caller.
    pub execution: Execution,
    /// The frames of the flowable task runs kept, by their new ids.
    pub frames: HashMap<String, Frame>,
    pub root: Frame,
    /// What the executor takes back, then continues with [`crate::Event::Restart`].
    pub to_restart: Execution,
}

/// Builds the replay of `from.old` from `from.task_run_id` on `plan` (the revision it runs):
/// `new_id` is the new execution's id, `new_run_id` gives each copied task run its id.
pub fn replay_from(
    plan: &FlowPlan,
    from: ReplayFrom<'_>,
    new_id: String,
    new_run_id: &mut dyn FnMut() -> String,
    now: Timestamp,
) -> Result<Replayed, ReplayError> {
    let old = from.old;
    let by_id: HashMap<&str, &TaskRun> = old
        .task_run_list
        .iter()
        .map(|run| (run.id.as_str(), run))
        .collect();
    let chosen = *by_id
        .get(from.task_run_id)
        .ok_or_else(|| ReplayError::UnknownTaskRun {
            execution_id: old.id.clone(),
            task_run_id: from.task_run_id.to_string(),
        })?;
    let mut line = vec![chosen];
    while let Some(parent) = line
        .last()
        .and_then(|run| run.parent_task_run_id.as_deref())
        .and_then(|id| by_id.get(id))
    {
        line.push(parent);
    }
    let removed = successors(plan, &from, &line);

    let mut ids: HashMap<&str, String> = HashMap::new();
    for run in &old.task_run_list {
        if !removed.contains(run.id.as_str()) {
            ids.insert(&run.id, new_run_id());
        }
    }
    let in_line: HashSet<&str> = line.iter().map(|run| run.id.as_str()).collect();
    let mut committed_runs = Vec::new();
    let mut restart_runs = Vec::new();
    for run in &old.task_run_list {
        let Some(id) = ids.get(run.id.as_str()) else {
            continue;
        };
        let mut copy = run.clone();
        copy.id = id.clone();
        copy.execution_id = new_id.clone();
        copy.parent_task_run_id = run
            .parent_task_run_id
            .as_deref()
            .and_then(|parent| ids.get(parent).cloned());
        let mut to_restart = copy.clone();
        if in_line.contains(run.id.as_str()) {
            let flowable = from.frames.contains_key(&run.id);
            copy.state.set(
                if flowable {
                    State::Running
                } else {
                    State::Restarted
                },
                now,
            );
            if run.id == chosen.id {
                to_restart.state.current = State::Failed;
            }
        }
        committed_runs.push(copy);
        restart_runs.push(to_restart);
    }

    let frames = from
        .frames
        .iter()
        .filter_map(|(key, frame)| {
            let (owner, rest) = match key.split_once('/') {
                Some((owner, child)) => (owner, Some(child)),
                None => (key.as_str(), None),
            };
            // A subflow record of the chosen run belongs to what runs again.
            if rest.is_some() && owner == chosen.id {
                return None;
            }
            let owner = ids.get(owner)?;
            let key = match rest {
                Some(child) => Frame::batch_key(owner, child),
                None => owner.clone(),
            };
            Some((key, frame.clone()))
        })
        .collect();

    let mut execution = old.clone();
    execution.id = new_id;
    execution.parent_id = Some(old.id.clone());
    execution.original_id = Some(old.original_id.clone().unwrap_or_else(|| old.id.clone()));
    execution.flow_revision = plan.flow.revision.unwrap_or(old.flow_revision);
    execution.outputs = None;
    execution.schedule_date = None;
    execution.deleted = false;
    let mut to_restart = execution.clone();
    to_restart.task_run_list = restart_runs;
    to_restart.state.current = State::Failed;
    execution.task_run_list = committed_runs;
    execution.metadata.attempt_number = old.metadata.attempt_number + 1;
    execution.state.set(State::Restarted, now);
    Ok(Replayed {
        execution,
        frames,
        root: from.root.clone(),
        to_restart,
    })
}

/// What [`Replayed::to_restart`] was, rebuilt from the committed replay alone (the execution
/// still RESTARTED): a server that stopped between a replay's commit and its first step takes
/// this back and continues it with [`crate::Event::Restart`], so the replay does not stay
/// RESTARTED forever. The chosen task run is the RESTARTED one, or the RUNNING flowable with no
/// task run under it; the RUNNING flowables above it get their earlier state back.
pub fn to_restart_from_committed(committed: &Execution) -> Execution {
    let mut execution = committed.clone();
    if execution.state.current == State::Restarted {
        execution.state.undo_last();
    }
    execution.state.current = State::Failed;
    execution.metadata.attempt_number = execution.metadata.attempt_number.saturating_sub(1);
    let parents: HashSet<String> = execution
        .task_run_list
        .iter()
        .filter_map(|run| run.parent_task_run_id.clone())
        .collect();
    for run in &mut execution.task_run_list {
        let state = run.state.current;
        let chosen = state == State::Restarted
            || (state == State::Running && !parents.contains(run.id.as_str()));
        if state == State::Restarted || state == State::Running {
            run.state.undo_last();
        }
        if chosen {
            run.state.current = State::Failed;
        }
    }
    execution
}

/// The task runs left out: the successors of each task run of `line` (the chosen one, then
/// each flowable above it) in its container, and everything under the chosen one and under
/// every run left out.
fn successors<'a>(
    plan: &FlowPlan,
    from: &ReplayFrom<'a>,
    line: &[&'a TaskRun],
) -> HashSet<&'a str> {
    let runs = &from.old.task_run_list;
    let mut removed: HashSet<&str> = HashSet::new();
    for run in line {
        let frame = match &run.parent_task_run_id {
            Some(parent) => from.frames.get(parent),
            None => Some(from.root),
        };
        let Some(frame) = frame else { continue };
        for sibling in runs.iter().filter(|other| {
            other.parent_task_run_id == run.parent_task_run_id && other.id != run.id
        }) {
            if comes_after(plan, frame, run, sibling) {
                removed.insert(&sibling.id);
            }
        }
    }
    let chosen = line.first().map(|run| run.id.as_str());
    // Children come after their parents in the list, so one pass sees each parent first.
    loop {
        let before = removed.len();
        for run in runs {
            let under = run
                .parent_task_run_id
                .as_deref()
                .is_some_and(|parent| removed.contains(parent) || Some(parent) == chosen);
            if under {
                removed.insert(&run.id);
            }
        }
        if removed.len() == before {
            break;
        }
    }
    removed
}

/// Whether `other` runs after `run` in their container: in its `errors` or `finally` branch,
/// or later in its list (for the same loop value when groups run apart; by dependency in a dag;
/// never in parallel).
fn comes_after(plan: &FlowPlan, frame: &Frame, run: &TaskRun, other: &TaskRun) -> bool {
    let node_of = |task: &TaskRun| plan.find(&task.task_id);
    let Some(other_node) = node_of(other) else {
        return false;
    };
    let listed = |items: &[Item]| items.iter().any(|item| item.node == other_node);
    if listed(&frame.errors) || listed(&frame.finally) {
        return true;
    }
    let Some(node) = node_of(run) else {
        return false;
    };
    let position = |task: &TaskRun, node| {
        frame
            .items
            .iter()
            .position(|item| item.node == node && item.value == task.value)
            .or_else(|| frame.items.iter().position(|item| item.node == node))
    };
    let (Some(at), Some(other_at)) = (position(run, node), position(other, other_node)) else {
        return false;
    };
    match frame.strategy {
        Strategy::Sequential => other_at > at,
        Strategy::Concurrent { .. } => other_at > at && other.value == run.value,
        Strategy::Parallel { .. } => false,
        Strategy::Dag { .. } => depends_on(plan, &frame.items, &run.task_id, &other.task_id),
    }
}

/// Whether the dag item of `later` waits, directly or not, for `first`.
fn depends_on(plan: &FlowPlan, items: &[Item], first: &str, later: &str) -> bool {
    let task_id = |item: &Item| plan.node(item.node).task.common.id.clone();
    let mut reached: HashSet<String> = HashSet::from([first.to_string()]);
    loop {
        let before = reached.len();
        for item in items {
            if item.depends_on.iter().any(|id| reached.contains(id)) {
                reached.insert(task_id(item));
            }
        }
        if reached.len() == before {
            return first != later && reached.contains(later);
        }
    }
}
