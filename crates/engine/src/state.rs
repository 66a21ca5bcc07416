//! An execution with the indexes the engine needs to decide in time independent of its size:
//! task runs by id, the progress of every container, the latest task run of each task id.

use std::collections::HashMap;

use indexmap::IndexMap;
use peregrine_model::execution::{Execution, TaskRun};
use serde::{Deserialize, Serialize};

use crate::plan::{FlowPlan, NodeId};
use crate::progress::{Progress, Slot};
use crate::tracker::{Totals, Tracker};

/// What a flowable task run decided when it started (the branch, the loop values), so later
/// steps do not render again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The main list of child items to run: (task, loop value).
    pub items: Vec<Item>,
    pub errors: Vec<Item>,
    pub finally: Vec<Item>,
    pub strategy: Strategy,
    /// Failures inside end this task in WARNING (AllowFailure).
    pub allow_failure: bool,
    /// Set for WorkingDirectory: the folder its tasks share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_directory: Option<crate::effects::SharedDirectory>,
    /// Set for a WorkingDirectory whose folder closes once its tasks have ended (outputs, cache):
    /// how far the closing job has got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing: Option<Closing>,
    /// Set for LoopUntil: the loop's progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub looping: Option<Looping>,
    /// Set on the record of one subflow a ForEachItem started, kept apart from the containers
    /// under `<task run id>/<subflow execution id>` so each end is written on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchRecord>,
}

/// The job closing a WorkingDirectory's folder: sent, then done (failed or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Closing {
    Sent,
    Done { failed: bool },
}

/// One subflow a ForEachItem started: its batch, and once it has ended, its state and outputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    /// The batch number, from 1.
    pub iteration: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<peregrine_model::state::State>,
    /// The subflow's flow outputs, when it has some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Frame {
    /// The record of a subflow started by the task run `owner`.
    pub fn batch_key(owner: &str, execution_id: &str) -> String {
        format!("{owner}/{execution_id}")
    }

    /// A frame of a container (not a subflow record).
    pub fn is_container(&self) -> bool {
        self.batch.is_none()
    }
}

/// One child to run: a task, and the loop value it runs for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    pub node: NodeId,
    pub value: Option<String>,
    /// Dag: the ids this item waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// LoopUntil: the iteration this item runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
}

/// A LoopUntil in progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Looping {
    pub condition: peregrine_model::Property<String>,
    pub iteration: u32,
    pub max_iterations: u32,
    pub max_duration: jiff::SignedDuration,
    pub interval: jiff::SignedDuration,
    pub fail_on_max: bool,
    pub started: jiff::Timestamp,
    /// Waiting for the interval before the next iteration.
    pub waiting: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// One after the other.
    #[default]
    Sequential,
    /// All at once, at most `limit` running (0: no limit).
    Parallel { limit: u32 },
    /// Groups by loop value, each group sequential, at most `limit` groups running (0: no limit).
    Concurrent { limit: u32 },
    /// As soon as the dependencies have ended, at most `limit` running (0: no limit).
    Dag { limit: u32 },
}

/// The execution document plus indexes and frames. The engine is the only writer.
#[derive(Clone, Debug)]
pub struct ExecutionState {
    pub execution: Execution,
    pub frames: HashMap<String, Frame>,
    /// The flow's own frame (the root container).
    pub root: Frame,
    by_id: HashMap<String, usize>,
    /// The latest task run of each task id, in order of first appearance (the `tasks` variable).
    latest: IndexMap<String, usize>,
    /// How far each container has got (derived from the task runs, never stored).
    tracker: Tracker,
    /// The `outputs` expression variable, kept up to date as task runs end.
    pub outputs: serde_json::Map<String, serde_json::Value>,
    /// The state the execution ends in once its running task runs are stopped (an SLA that
    /// fails or cancels it); KILLED when absent.
    pub ending_as: Option<peregrine_model::state::State>,
    /// Set when a failure is retried as a new execution: when to start it.
    pub replay_at: Option<jiff::Timestamp>,
    /// Task runs changed by the last call, for the store to write.
    pub(crate) dirty: Vec<usize>,
    /// Frames added or changed by the last call, for the store to write.
    dirty_frames: Vec<String>,
    /// Task runs (and frames) removed by the last call (a restart), for the store to delete.
    removed: Vec<String>,
}

impl ExecutionState {
    pub fn new(execution: Execution, root: Frame, frames: HashMap<String, Frame>) -> Self {
        let mut state = Self {
            execution,
            frames,
            root,
            by_id: HashMap::new(),
            latest: IndexMap::new(),
            tracker: Tracker::stale(),
            outputs: serde_json::Map::new(),
            ending_as: None,
            replay_at: None,
            dirty: Vec::new(),
            dirty_frames: Vec::new(),
            removed: Vec::new(),
        };
        for position in 0..state.execution.task_run_list.len() {
            state.index(position);
        }
        for position in 0..state.execution.task_run_list.len() {
            state.record_outputs(position);
        }
        state
    }

    fn index(&mut self, position: usize) {
        let run = &self.execution.task_run_list[position];
        self.by_id.insert(run.id.clone(), position);
        self.latest.insert(run.task_id.clone(), position);
    }

    pub fn run(&self, id: &str) -> Option<&TaskRun> {
        self.by_id
            .get(id)
            .map(|&position| &self.execution.task_run_list[position])
    }

    pub(crate) fn run_mut(&mut self, id: &str) -> Option<&mut TaskRun> {
        let position = *self.by_id.get(id)?;
        self.dirty.push(position);
        self.tracker.touched(position);
        self.execution.task_run_list.get_mut(position)
    }

    /// The task run at `position` in the task run list.
    pub fn run_at(&self, position: usize) -> Option<&TaskRun> {
        self.execution.task_run_list.get(position)
    }

    /// The latest task run of each task id, in order of first appearance.
    pub fn latest_runs(&self) -> impl Iterator<Item = &TaskRun> {
        self.latest
            .values()
            .filter_map(|&position| self.execution.task_run_list.get(position))
    }

    /// The latest task run of `task_id`.
    pub fn latest_run(&self, task_id: &str) -> Option<&TaskRun> {
        let position = *self.latest.get(task_id)?;
        self.execution.task_run_list.get(position)
    }

    /// Counts the task runs changed since the last call into the progress of their containers.
    pub(crate) fn sync(&mut self, plan: &FlowPlan) {
        self.tracker.sync(
            plan,
            &self.execution.task_run_list,
            &self.frames,
            &self.root,
        );
    }

    /// The progress of a container (None: the flow itself), as of the last [`Self::sync`].
    pub(crate) fn progress(&self, container: Option<&str>) -> Option<&Progress> {
        self.tracker.progress(container)
    }

    pub(crate) fn progress_mut(&mut self, container: Option<&str>) -> Option<&mut Progress> {
        self.tracker.progress_mut(container)
    }

    /// Execution-wide counters, as of the last [`Self::sync`].
    pub(crate) fn totals(&self) -> Totals {
        self.tracker.totals()
    }

    /// A LoopUntil starts its next iteration: its frame changed, its children start over.
    pub(crate) fn restart_container(&mut self, id: &str) {
        if let Some(frame) = self.frames.get(id) {
            self.tracker.container_reset(id, frame);
        }
    }

    /// Removes task runs (and the frames of removed flowables), then rebuilds the indexes and
    /// the `outputs` variable. O(n): only for rare operations such as restart.
    pub(crate) fn remove_runs(&mut self, ids: &std::collections::HashSet<String>) {
        self.removed.extend(ids.iter().cloned());
        self.execution
            .task_run_list
            .retain(|run| !ids.contains(&run.id));
        self.frames.retain(|id, _| !ids.contains(id));
        self.by_id.clear();
        self.latest.clear();
        self.tracker.invalidate();
        self.outputs = serde_json::Map::new();
        self.dirty.clear();
        for position in 0..self.execution.task_run_list.len() {
            self.index(position);
            self.dirty.push(position);
        }
        for position in 0..self.execution.task_run_list.len() {
            self.record_outputs(position);
        }
    }

    /// The frame of a running flowable, for a change the store will write.
    pub(crate) fn frame_mut(&mut self, id: &str) -> Option<&mut Frame> {
        let frame = self.frames.get_mut(id)?;
        self.dirty_frames.push(id.to_string());
        Some(frame)
    }

    pub(crate) fn insert_frame(&mut self, id: String, frame: Frame) {
        self.dirty_frames.push(id.clone());
        if frame.is_container() {
            self.tracker.container_started(&id, &frame);
        }
        if let Some(position) = self.position(&id) {
            self.tracker.touched(position);
        }
        self.frames.insert(id, frame);
    }

    /// Removes a subflow record; the store deletes it with the removed task runs.
    pub(crate) fn remove_frame(&mut self, id: &str) {
        if self.frames.remove(id).is_some() {
            self.removed.push(id.to_string());
        }
    }

    /// Frames added or changed since the last call to this method (ids deduplicated; a frame
    /// removed since is left out).
    pub fn take_changed_frames(&mut self) -> Vec<String> {
        let mut dirty = std::mem::take(&mut self.dirty_frames);
        dirty.sort_unstable();
        dirty.dedup();
        dirty.retain(|id| self.frames.contains_key(id));
        dirty
    }

    /// Task runs (with their frames) removed since the last call to this method.
    pub fn take_removed(&mut self) -> Vec<String> {
        std::mem::take(&mut self.removed)
    }

    /// Adds a task run for `slot` of its container.
    pub(crate) fn push(&mut self, run: TaskRun, slot: Option<Slot>) {
        self.execution.task_run_list.push(run);
        let position = self.execution.task_run_list.len() - 1;
        self.index(position);
        self.dirty.push(position);
        self.tracker.added(position, slot);
    }

    /// Adds the outputs of the task run at `position` to [`Self::outputs`].
    pub(crate) fn record_outputs(&mut self, position: usize) {
        let run = &self.execution.task_run_list[position];
        let Some(outputs) = &run.outputs else { return };
        let path = crate::variables::value_path(self, run);
        let (task_id, outputs) = (run.task_id.clone(), outputs.clone());
        crate::variables::insert_outputs(&mut self.outputs, &task_id, &path, &outputs);
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Task runs changed since the last call to this method (positions deduplicated).
    pub fn take_changed(&mut self) -> Vec<usize> {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        dirty
    }
}
