//! Ended executions kept in memory for readers, oldest first, within two bounds: how many, and
//! how many task runs in all (one ForEach over 10,000 values weighs as much as thousands of small
//! executions). What leaves is read from the store.

use std::collections::{HashMap, VecDeque};

/// Task runs all kept ended executions may hold together.
pub(super) const MAX_TASK_RUNS: usize = 20_000;

#[derive(Debug)]
pub(super) struct Finished {
    /// Ids in the order they ended; may hold ids since removed (skipped when they come out).
    order: VecDeque<String>,
    /// Kept ids with their number of task runs.
    sizes: HashMap<String, usize>,
    task_runs: usize,
    max_executions: usize,
    max_task_runs: usize,
}

impl Finished {
    pub(super) fn new(max_executions: usize, max_task_runs: usize) -> Self {
        Self {
            order: VecDeque::new(),
            sizes: HashMap::new(),
            task_runs: 0,
            max_executions,
            max_task_runs,
        }
    }

    /// Keeps an ended execution (again, with its new size, if it was kept); returns the ids
    /// that no longer fit, oldest first. The newest one stays even when it alone is too big.
    pub(super) fn keep(&mut self, id: &str, task_runs: usize) -> Vec<String> {
        match self.sizes.insert(id.to_string(), task_runs) {
            Some(before) => self.task_runs -= before,
            None => self.order.push_back(id.to_string()),
        }
        self.task_runs += task_runs;
        let mut out = Vec::new();
        while (self.sizes.len() > self.max_executions || self.task_runs > self.max_task_runs)
            && self.sizes.len() > 1
        {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if old == id {
                self.order.push_back(old);
                continue;
            }
            if let Some(size) = self.sizes.remove(&old) {
                self.task_runs -= size;
                out.push(old);
            }
        }
        self.compact();
        out
    }

    /// Stops keeping an execution (a deleted one).
    pub(super) fn remove(&mut self, id: &str) {
        if let Some(size) = self.sizes.remove(id) {
            self.task_runs -= size;
        }
        self.compact();
    }

    /// Stops keeping every execution `keep` refuses.
    pub(super) fn retain(&mut self, keep: &dyn Fn(&str) -> bool) {
        let gone: Vec<String> = self.sizes.keys().filter(|id| !keep(id)).cloned().collect();
        for id in gone {
            self.remove(&id);
        }
    }

    /// Drops ids removed out of order once they make up most of the queue.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.sizes.len() + 16 {
            let sizes = &self.sizes;
            self.order.retain(|id| sizes.contains_key(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Finished;

    #[test]
    fn the_oldest_leave_first_when_too_many() {
        let mut finished = Finished::new(2, 100);
        assert!(finished.keep("a", 1).is_empty());
        assert!(finished.keep("b", 1).is_empty());
        assert_eq!(finished.keep("c", 1), ["a"]);
        assert_eq!(finished.keep("d", 1), ["b"]);
    }

    #[test]
    fn big_executions_push_out_by_task_runs() {
        let mut finished = Finished::new(1_000, 100);
        for id in ["a", "b", "c"] {
            assert!(finished.keep(id, 10).is_empty());
        }
        assert_eq!(finished.keep("big", 90), ["a", "b"]);
        // Alone over the bound: kept until a newer one ends.
        assert_eq!(finished.keep("huge", 500), ["c", "big"]);
        assert_eq!(finished.keep("e", 1), ["huge"]);
    }

    #[test]
    fn kept_again_counts_once_and_removed_ones_are_skipped() {
        let mut finished = Finished::new(2, 100);
        assert!(finished.keep("a", 10).is_empty());
        assert!(finished.keep("a", 30).is_empty());
        assert!(finished.keep("b", 60).is_empty());
        finished.remove("a");
        assert!(finished.keep("c", 30).is_empty());
        assert_eq!(finished.keep("d", 30), ["b"]);
    }
}
