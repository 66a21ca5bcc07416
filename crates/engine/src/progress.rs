//! How far each container (the flow, or a running flowable task run) has got through its lists:
//! the task run of each item, how many exist, how many have ended and in which states, and which
//! group of items runs next. Derived from the task runs (never stored), kept up to date as task
//! runs change, so deciding a step costs the same whatever the number of children.

use peregrine_model::state::State;

use crate::state::{Frame, Item, Strategy};

/// One of the three lists a container runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListKind {
    Main,
    Errors,
    Finally,
}

impl ListKind {
    pub const ALL: [ListKind; 3] = [ListKind::Main, ListKind::Errors, ListKind::Finally];

    fn slot(self) -> usize {
        match self {
            ListKind::Main => 0,
            ListKind::Errors => 1,
            ListKind::Finally => 2,
        }
    }

    /// The items of this list in `frame`.
    pub fn items(self, frame: &Frame) -> &[Item] {
        match self {
            ListKind::Main => &frame.items,
            ListKind::Errors => &frame.errors,
            ListKind::Finally => &frame.finally,
        }
    }
}

/// Where a task run sits in its container: a list and an item of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub list: ListKind,
    pub index: usize,
}

/// Items run one after the other: the whole list when sequential, one item when parallel, the
/// items of one loop value when concurrent.
#[derive(Clone, Copy, Debug, Default)]
struct Group {
    start: usize,
    len: usize,
    created: usize,
    terminated: usize,
}

impl Group {
    fn active(&self) -> bool {
        self.created > 0 && self.terminated < self.len
    }

    /// Started, nothing running, items left: its next item can be created.
    fn ready(&self) -> bool {
        self.created > 0 && self.created == self.terminated && self.created < self.len
    }
}

/// The progress of one list.
#[derive(Clone, Debug, Default)]
pub struct ListProgress {
    /// The task run (its position in the execution) of each item, once created.
    runs: Vec<Option<usize>>,
    created: usize,
    terminated: usize,
    killed: usize,
    failed: usize,
    warning: usize,
    paused: usize,
    groups: Vec<Group>,
    /// The group of each item.
    group_of: Vec<usize>,
    /// Groups with an item running or ready to run.
    active_groups: usize,
    /// Every group before it has started.
    first_unstarted: usize,
    /// Groups whose running item ended since they were last looked at.
    ready: Vec<usize>,
}

impl ListProgress {
    fn new(items: &[Item], strategy: Strategy) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let joins = match strategy {
                Strategy::Sequential => index > 0,
                Strategy::Parallel { .. } | Strategy::Dag { .. } => false,
                Strategy::Concurrent { .. } => index > 0 && items[index - 1].value == item.value,
            };
            if !joins {
                groups.push(Group {
                    start: index,
                    ..Group::default()
                });
            }
            let last = groups.len() - 1;
            groups[last].len += 1;
            group_of.push(last);
        }
        Self {
            runs: vec![None; items.len()],
            groups,
            group_of,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Task runs created for items of this list.
    pub fn created(&self) -> usize {
        self.created
    }

    /// Created task runs not ended yet.
    pub fn running(&self) -> usize {
        self.created - self.terminated
    }

    /// Every item has a task run, and every one has ended.
    pub fn all_terminated(&self) -> bool {
        self.terminated == self.runs.len()
    }

    /// Every task run created so far has ended.
    pub fn created_terminated(&self) -> bool {
        self.created == self.terminated
    }

    /// A task run of this list is FAILED.
    pub fn has_failed(&self) -> bool {
        self.failed > 0
    }

    /// The task run of item `index`, if created.
    pub fn run_at(&self, index: usize) -> Option<usize> {
        self.runs.get(index).copied().flatten()
    }

    /// The items to create now, in list order, at most `limit` groups running (0: no limit):
    /// the next item of every group whose running item has ended, then the first item of
    /// groups not started yet.
    pub fn next_items(&mut self, limit: u32) -> Vec<usize> {
        let mut ready = std::mem::take(&mut self.ready);
        ready.sort_unstable();
        ready.dedup();
        let mut nexts: Vec<usize> = ready
            .into_iter()
            .filter_map(|group| self.groups.get(group))
            .filter(|group| group.ready())
            .map(|group| group.start + group.created)
            .collect();
        while self
            .groups
            .get(self.first_unstarted)
            .is_some_and(|group| group.created > 0)
        {
            self.first_unstarted += 1;
        }
        let mut free = if limit == 0 {
            usize::MAX
        } else {
            (limit as usize).saturating_sub(self.active_groups)
        };
        let mut group = self.first_unstarted;
        while free > 0 && group < self.groups.len() {
            if self.groups[group].created == 0 {
                nexts.push(self.groups[group].start);
                free -= 1;
            }
            group += 1;
        }
        nexts
    }

    /// Counts a task run of item `index` moving from `before` (None: not counted yet) to
    /// `after` (None: no longer counted).
    fn count(
        &mut self,
        index: usize,
        position: usize,
        before: Option<State>,
        after: Option<State>,
    ) {
        let Some(&group_index) = self.group_of.get(index) else {
            return;
        };
        let was_active = self.groups[group_index].active();
        if let Some(state) = before {
            self.add(group_index, state, -1);
        } else {
            self.runs[index] = Some(position);
        }
        if let Some(state) = after {
            self.add(group_index, state, 1);
        } else {
            self.runs[index] = None;
        }
        let group = self.groups[group_index];
        match (was_active, group.active()) {
            (false, true) => self.active_groups += 1,
            (true, false) => self.active_groups -= 1,
            _ => {}
        }
        let ended =
            after.is_some_and(State::is_terminated) && !before.is_some_and(State::is_terminated);
        if ended && group.ready() {
            self.ready.push(group_index);
        }
    }

    fn add(&mut self, group_index: usize, state: State, sign: isize) {
        let step = |counter: &mut usize| *counter = counter.saturating_add_signed(sign);
        let group = &mut self.groups[group_index];
        step(&mut group.created);
        step(&mut self.created);
        if state.is_terminated() {
            step(&mut group.terminated);
            step(&mut self.terminated);
        }
        match state {
            State::Killed => step(&mut self.killed),
            State::Failed => step(&mut self.failed),
            State::Warning => step(&mut self.warning),
            State::Paused => step(&mut self.paused),
            _ => {}
        }
    }

    /// After a rebuild: every group that can go on is looked at by the next step.
    fn queue_ready_groups(&mut self) {
        self.ready = (0..self.groups.len())
            .filter(|&group| self.groups[group].ready())
            .collect();
    }
}

/// The progress of one container through its three lists.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    lists: [ListProgress; 3],
}

impl Progress {
    pub fn new(frame: &Frame) -> Self {
        Self {
            lists: [
                ListProgress::new(&frame.items, frame.strategy),
                ListProgress::new(&frame.errors, frame.strategy),
                ListProgress::new(&frame.finally, Strategy::Sequential),
            ],
        }
    }

    pub fn list(&self, kind: ListKind) -> &ListProgress {
        &self.lists[kind.slot()]
    }

    pub fn list_mut(&mut self, kind: ListKind) -> &mut ListProgress {
        &mut self.lists[kind.slot()]
    }

    /// Counts a change of the task run at `position`, in `slot` of this container.
    pub fn count(
        &mut self,
        slot: Slot,
        position: usize,
        before: Option<State>,
        after: Option<State>,
    ) {
        self.list_mut(slot.list)
            .count(slot.index, position, before, after);
    }

    pub fn queue_ready_groups(&mut self) {
        for list in &mut self.lists {
            list.queue_ready_groups();
        }
    }

    /// Every task run created in this container has ended.
    pub fn children_terminated(&self) -> bool {
        self.lists.iter().all(ListProgress::created_terminated)
    }

    /// Kestra's order of precedence over the children's states: KILLED > FAILED > WARNING >
    /// PAUSED > SUCCESS.
    pub fn final_state(&self) -> State {
        let sum =
            |counter: fn(&ListProgress) -> usize| self.lists.iter().map(counter).sum::<usize>();
        if sum(|list| list.killed) > 0 {
            State::Killed
        } else if sum(|list| list.failed) > 0 {
            State::Failed
        } else if sum(|list| list.warning) > 0 {
            State::Warning
        } else if sum(|list| list.paused) > 0 {
            State::Paused
        } else {
            State::Success
        }
    }
}
