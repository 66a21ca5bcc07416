//! Flow concurrency limits (`concurrency: {limit, behavior}`): at most `limit` executions of a
//! flow run at once; a new one beyond it waits QUEUED (started in creation order as running ones
//! end), or ends CANCELLED or FAILED at once, as its flow says.

use std::collections::{HashMap, HashSet, VecDeque};

use peregrine_engine::FlowPlan;
use peregrine_model::flow::ConcurrencyBehavior;
use peregrine_model::state::State;

/// What happens to a new execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Admission {
    Start,
    /// Not started: moved to this state (QUEUED, CANCELLED or FAILED).
    Hold(State),
}

#[derive(Default)]
struct Slots {
    running: HashSet<String>,
    queued: VecDeque<String>,
}

/// The executions holding or waiting for the slots of each limited flow.
#[derive(Default)]
pub(super) struct Limits {
    flows: HashMap<String, Slots>,
}

impl Limits {
    /// Decides for a new execution of a flow (`key` is the flow's uid).
    pub(super) fn admit(&mut self, key: &str, plan: &FlowPlan, id: &str) -> Admission {
        let Some(concurrency) = &plan.flow.concurrency else {
            return Admission::Start;
        };
        let slots = self.flows.entry(key.to_string()).or_default();
        if slots.running.len() < concurrency.limit as usize {
            slots.running.insert(id.to_string());
            return Admission::Start;
        }
        match concurrency.behavior {
            ConcurrencyBehavior::Queue => {
                slots.queued.push_back(id.to_string());
                Admission::Hold(State::Queued)
            }
            ConcurrencyBehavior::Cancel => Admission::Hold(State::Cancelled),
            ConcurrencyBehavior::Fail => Admission::Hold(State::Failed),
        }
    }

    /// Records an execution read back after a restart.
    pub(super) fn restore(&mut self, key: &str, plan: &FlowPlan, id: &str, state: State) {
        if plan.flow.concurrency.is_none() {
            return;
        }
        let slots = self.flows.entry(key.to_string()).or_default();
        if state == State::Queued {
            if !slots.queued.iter().any(|queued| queued == id) {
                slots.queued.push_back(id.to_string());
            }
        } else {
            slots.running.insert(id.to_string());
        }
    }

    /// An execution has ended: frees its slot. Returns the queued executions that may start
    /// now, oldest first.
    pub(super) fn release(&mut self, key: &str, plan: Option<&FlowPlan>, id: &str) -> Vec<String> {
        let Some(slots) = self.flows.get_mut(key) else {
            return Vec::new();
        };
        slots.running.remove(id);
        slots.queued.retain(|queued| queued != id);
        let limit = plan
            .and_then(|plan| plan.flow.concurrency.as_ref())
            .map_or(usize::MAX, |concurrency| concurrency.limit as usize);
        let mut start = Vec::new();
        while slots.running.len() < limit {
            let Some(next) = slots.queued.pop_front() else {
                break;
            };
            slots.running.insert(next.clone());
            start.push(next);
        }
        if slots.running.is_empty() && slots.queued.is_empty() {
            self.flows.remove(key);
        }
        start
    }

    /// Drops what is kept of executions this process no longer runs (their partition went to
    /// another executor): they neither hold nor wait for a slot here any more.
    pub(super) fn forget(&mut self, gone: &dyn Fn(&str) -> bool) {
        for slots in self.flows.values_mut() {
            slots.running.retain(|id| !gone(id));
            slots.queued.retain(|id| !gone(id));
        }
        self.flows
            .retain(|_, slots| !slots.running.is_empty() || !slots.queued.is_empty());
    }

    /// Every flow's queued executions that may start now (after a restart).
    pub(super) fn ready(
        &mut self,
        plans: &HashMap<String, std::sync::Arc<FlowPlan>>,
    ) -> Vec<String> {
        let keys: Vec<String> = self.flows.keys().cloned().collect();
        let mut start = Vec::new();
        for key in keys {
            start.extend(self.release(&key, plans.get(&key).map(AsRef::as_ref), ""));
        }
        start
    }
}
