//! The partitions this runtime runs, when executors share the load
//! (docs/adr/0004-partitioned-executors.md). Executions of other partitions are another
//! executor's: messages about them are dropped, their rows are not read. Taking a partition
//! takes its executions back from the store, as a restart does; giving one up drops what is
//! held of its executions, as a crash would, once the step under way is committed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use peregrine_ports::partition::{self, Partitions};
use tokio::sync::oneshot;

use super::{LocalRuntime, Message, RuntimeError, Shared};

/// Which partitions are run here.
#[derive(Debug)]
pub(super) struct Held {
    count: u16,
    /// Partitions whose executions the event loop applies, with the generation of each (raised
    /// every time the partition is taken, so a timer set before it was given up does not fire
    /// into executions taken back since).
    applied: HashMap<u16, u64>,
    /// Partitions whose rows are read: those applied and taken back.
    read: BTreeSet<u16>,
    generations: u64,
}

/// The runtime's view of its partitions; `None` inside: every execution is run here.
#[derive(Clone, Debug, Default)]
pub(super) struct Partitioning(Option<Arc<RwLock<Held>>>);

impl Partitioning {
    /// Runs no partition until some are taken.
    pub(super) fn among(count: u16) -> Self {
        Self(Some(Arc::new(RwLock::new(Held {
            count: count.max(1),
            applied: HashMap::new(),
            read: BTreeSet::new(),
            generations: 0,
        }))))
    }

    fn read<T>(&self, read: impl FnOnce(&Held) -> T) -> Option<T> {
        let held = self.0.as_ref()?;
        Some(read(&held.read().unwrap_or_else(PoisonError::into_inner)))
    }

    fn write<T>(&self, write: impl FnOnce(&mut Held) -> T) -> Option<T> {
        let held = self.0.as_ref()?;
        Some(write(
            &mut held.write().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// True when `execution_id` is run here.
    pub(super) fn holds(&self, execution_id: &str) -> bool {
        self.read(|held| {
            held.applied
                .contains_key(&partition::of(execution_id, held.count))
        })
        .unwrap_or(true)
    }

    /// The generation of the partition of `execution_id`: `Some(0)` when every execution is
    /// run here, `None` when its partition is not.
    pub(super) fn generation(&self, execution_id: &str) -> Option<u64> {
        self.read(|held| {
            held.applied
                .get(&partition::of(execution_id, held.count))
                .copied()
        })
        .unwrap_or(Some(0))
    }

    /// The generation to stamp a message about `execution_id` with: one no partition ever has
    /// when its partition is not run here.
    pub(super) fn stamp(&self, execution_id: &str) -> u64 {
        self.generation(execution_id).unwrap_or(u64::MAX)
    }

    /// The partitions whose rows are read.
    pub(super) fn reading(&self) -> Partitions {
        self.read(|held| Partitions::Only(held.read.iter().copied().collect()))
            .unwrap_or(Partitions::All)
    }

    /// A fresh execution id in one of the partitions run here and taken back, or `None` when
    /// every execution is run here (any id will do).
    pub(super) fn new_id(&self) -> Option<Result<String, RuntimeError>> {
        self.read(|held| {
            if held.read.is_empty() {
                return Err(RuntimeError::NoPartition);
            }
            loop {
                let id = peregrine_executor::new_id();
                if held.read.contains(&partition::of(&id, held.count)) {
                    return Ok(id);
                }
            }
        })
    }

    /// A fresh execution id in the partition of `execution_id`, or `None` when every
    /// execution is run here (any id will do).
    pub(super) fn new_id_beside(&self, execution_id: &str) -> Option<String> {
        let count = self.count()?;
        Some(peregrine_executor::new_id_in(
            partition::of(execution_id, count),
            count,
        ))
    }

    /// The number of partitions, when executors share the load.
    pub(super) fn count(&self) -> Option<u16> {
        self.read(|held| held.count)
    }
}

impl Shared {
    /// Drops what is held of the executions of `partition` (among `count`); returns the
    /// queued executions of other partitions that may start now that their slots are free.
    fn drop_partition(&mut self, partition: u16, count: u16) -> Vec<String> {
        let gone = |id: &str| partition::of(id, count) == partition;
        for id in self.executor.ids() {
            if gone(&id) {
                self.executor.evict(&id);
            }
        }
        self.watchers.retain(|id, _| !gone(id));
        self.parents.retain(|id, _| !gone(id));
        self.consumes.retain(|id, _| !gone(id));
        self.uncommitted.retain(|id, _| !gone(id));
        self.waiters.retain(|id, _| !gone(id));
        self.finished.retain(&|id: &str| !gone(id));
        self.limits.forget(&gone);
        self.subscribers.retain(&|id: &str| !gone(id));
        self.limits.ready(&self.plans)
    }
}

impl LocalRuntime {
    /// Runs `partition` from now on: its executions are taken back from the store, then its
    /// rows are read. Returns what was taken back.
    pub async fn take_partition(&self, partition: u16) -> Result<super::Recovered, RuntimeError> {
        let Some(generation) = self.partitions.write(|held| {
            held.generations += 1;
            held.applied.insert(partition, held.generations);
            held.generations
        }) else {
            return Ok(super::Recovered::default());
        };
        let recovered = match self.take_back(&Partitions::Only(vec![partition])).await {
            Ok(recovered) => recovered,
            Err(error) => {
                // Not run here after all: what was taken back is dropped again.
                self.give_partition(partition).await;
                return Err(error);
            }
        };
        // Read only once taken back: a result read before its execution would be lost.
        self.partitions.write(|held| {
            if held.applied.get(&partition) == Some(&generation) {
                held.read.insert(partition);
            }
        });
        Ok(recovered)
    }

    /// Stops running `partition`: its rows are no longer read, and once the step under way
    /// is committed (with the effects it causes), what is held of its executions is dropped
    /// and messages about them are dropped from then on. Returns then (the partition may be
    /// given to another executor).
    pub async fn give_partition(&self, partition: u16) {
        let Some(count) = self.partitions.write(|held| {
            held.read.remove(&partition);
            held.count
        }) else {
            return;
        };
        let (done, given) = oneshot::channel();
        let message = Message::Give {
            partition,
            count,
            done,
        };
        if self.sender.send(message).is_ok() {
            let _ = given.await;
        }
    }

    /// Carried out by the event loop between two steps.
    /// Carried out by the event loop between two steps, under the lock of what the runtime
    /// holds: an execution created here is either dropped now or created knowing its
    /// partition is not run here.
    pub(super) fn drop_partition(&self, partition: u16, count: u16) {
        let ready = match self.shared.lock() {
            Ok(mut shared) => {
                self.partitions.write(|held| {
                    held.read.remove(&partition);
                    held.applied.remove(&partition);
                });
                shared.drop_partition(partition, count)
            }
            Err(_) => Vec::new(),
        };
        for id in ready {
            self.send(&id, peregrine_engine::Event::Start);
        }
    }
}
