//! Keeps the [`Progress`] of every container in step with the task runs: each changed task run
//! is counted again (what it counted for before is taken back), so a step costs the number of
//! task runs it changed. Rebuilt from scratch only when the execution is read back or task runs
//! are removed (a restart).

use std::collections::HashMap;

use peregrine_model::execution::TaskRun;
use peregrine_model::state::State;

use crate::plan::FlowPlan;
use crate::progress::{ListKind, Progress, Slot};
use crate::state::Frame;

/// What a task run counted for when last looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counted {
    state: State,
    /// It has a frame (a flowable task run).
    flowable: bool,
}

/// Execution-wide counters: what decides whether the execution is PAUSED.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub paused: usize,
    pub created: usize,
    /// Runnable (no frame) task runs that are RUNNING.
    pub running_runnables: usize,
}

impl Totals {
    fn add(&mut self, counted: Counted, sign: isize) {
        let step = |counter: &mut usize| *counter = counter.saturating_add_signed(sign);
        match counted.state {
            State::Paused => step(&mut self.paused),
            State::Created => step(&mut self.created),
            State::Running if !counted.flowable => step(&mut self.running_runnables),
            _ => {}
        }
    }
}

/// The progress of every container, and what each task run counted for.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    root: Progress,
    containers: HashMap<String, Progress>,
    /// By task run position: where it sits in its container (None: in no list of the current
    /// frame, as an earlier LoopUntil iteration).
    slots: Vec<Option<Slot>>,
    counted: Vec<Option<Counted>>,
    /// Task runs changed since they were last counted.
    pending: Vec<usize>,
    /// Everything must be counted again before the next decision.
    stale: bool,
    totals: Totals,
}

impl Tracker {
    /// A tracker to build on first use.
    pub fn stale() -> Self {
        Self {
            stale: true,
            ..Self::default()
        }
    }

    pub fn invalidate(&mut self) {
        self.stale = true;
        self.pending.clear();
    }

    /// A task run was added at `position`, for `slot` of its container.
    pub fn added(&mut self, position: usize, slot: Option<Slot>) {
        if self.slots.len() <= position {
            self.slots.resize(position + 1, None);
            self.counted.resize(position + 1, None);
        }
        self.slots[position] = slot;
        self.pending.push(position);
    }

    /// The task run at `position` may have changed.
    pub fn touched(&mut self, position: usize) {
        self.pending.push(position);
    }

    /// A flowable started: its container, with nothing created yet.
    pub fn container_started(&mut self, id: &str, frame: &Frame) {
        self.containers.insert(id.to_string(), Progress::new(frame));
    }

    /// A container starts over (a LoopUntil iteration): its earlier task runs no longer count.
    pub fn container_reset(&mut self, id: &str, frame: &Frame) {
        if let Some(progress) = self.containers.get(id) {
            for kind in ListKind::ALL {
                let list = progress.list(kind);
                for index in 0..list.len() {
                    if let Some(position) = list.run_at(index)
                        && let Some(slot) = self.slots.get_mut(position)
                    {
                        *slot = None;
                    }
                }
            }
        }
        self.container_started(id, frame);
    }

    pub fn progress(&self, container: Option<&str>) -> Option<&Progress> {
        match container {
            None => Some(&self.root),
            Some(id) => self.containers.get(id),
        }
    }

    pub fn progress_mut(&mut self, container: Option<&str>) -> Option<&mut Progress> {
        match container {
            None => Some(&mut self.root),
            Some(id) => self.containers.get_mut(id),
        }
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Counts every task run changed since the last call (everything, when stale).
    pub fn sync(
        &mut self,
        plan: &FlowPlan,
        runs: &[TaskRun],
        frames: &HashMap<String, Frame>,
        root: &Frame,
    ) {
        if self.stale {
            self.rebuild(plan, runs, frames, root);
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for position in pending {
            self.recount(position, runs, frames);
        }
    }

    fn recount(&mut self, position: usize, runs: &[TaskRun], frames: &HashMap<String, Frame>) {
        let Some(run) = runs.get(position) else {
            return;
        };
        let now = Counted {
            state: run.state.current,
            flowable: frames.contains_key(&run.id),
        };
        let before = self.counted.get(position).copied().flatten();
        if before == Some(now) {
            return;
        }
        if let Some(before) = before {
            self.totals.add(before, -1);
        }
        self.totals.add(now, 1);
        if let Some(slot) = self.slots.get(position).copied().flatten()
            && let Some(progress) = self.progress_mut(run.parent_task_run_id.as_deref())
        {
            progress.count(
                slot,
                position,
                before.map(|counted| counted.state),
                Some(now.state),
            );
        }
        if let Some(counted) = self.counted.get_mut(position) {
            *counted = Some(now);
        }
    }

    /// Counts everything again: each task run is matched to an item of its container's frame.
    fn rebuild(
        &mut self,
        plan: &FlowPlan,
        runs: &[TaskRun],
        frames: &HashMap<String, Frame>,
        root: &Frame,
    ) {
        *self = Self {
            root: Progress::new(root),
            containers: frames
                .iter()
                .filter(|(_, frame)| frame.is_container())
                .map(|(id, frame)| (id.clone(), Progress::new(frame)))
                .collect(),
            slots: vec![None; runs.len()],
            counted: vec![None; runs.len()],
            ..Self::default()
        };
        let mut lookups: HashMap<Option<&str>, ItemLookup<'_>> = HashMap::new();
        for (position, run) in runs.iter().enumerate() {
            let container = run.parent_task_run_id.as_deref();
            let frame = match container {
                None => Some(root),
                Some(id) => frames.get(id),
            };
            let slot = frame.and_then(|frame| {
                lookups
                    .entry(container)
                    .or_insert_with(|| item_lookup(plan, frame))
                    .get(&(run.task_id.as_str(), run.value.as_deref(), run.iteration))
                    .copied()
            });
            if let Some(slot) = slot {
                // Two task runs for one item: the later one counts.
                let earlier = self
                    .progress(container)
                    .and_then(|progress| progress.list(slot.list).run_at(slot.index));
                if let Some(earlier) = earlier {
                    let state = self
                        .counted
                        .get(earlier)
                        .copied()
                        .flatten()
                        .map(|c| c.state);
                    if let Some(progress) = self.progress_mut(container) {
                        progress.count(slot, earlier, state, None);
                    }
                    self.slots[earlier] = None;
                }
            }
            self.slots[position] = slot;
            self.recount(position, runs, frames);
        }
        self.root.queue_ready_groups();
        for progress in self.containers.values_mut() {
            progress.queue_ready_groups();
        }
    }
}

type ItemKey<'a> = (&'a str, Option<&'a str>, Option<u32>);
type ItemLookup<'a> = HashMap<ItemKey<'a>, Slot>;

/// Every item of a frame by (task id, loop value, iteration).
fn item_lookup<'a>(plan: &'a FlowPlan, frame: &'a Frame) -> ItemLookup<'a> {
    let mut lookup = HashMap::new();
    for list in ListKind::ALL {
        for (index, item) in list.items(frame).iter().enumerate() {
            let task_id = plan.node(item.node).task.common.id.as_str();
            lookup.insert(
                (task_id, item.value.as_deref(), item.iteration),
                Slot { list, index },
            );
        }
    }
    lookup
}
