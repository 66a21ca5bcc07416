//! Executors sharing the load (docs/adr/0004-partitioned-executors.md): each runs the
//! partitions it holds. Every heartbeat it says it lives, renews its partitions, computes its
//! share of them among the live executors, gives up those beyond it and takes free ones up to
//! it. A partition another executor took over (this one stalled past its lease) stops the
//! process, as losing the executor's lease does.
//!
//! Executors sharing the load also hold the executor's single lease together, under one owner
//! name, and their commits are fenced by it too: an executor that does not share the load (a
//! standalone server) waits while they run, and once it has taken the lease their late commits
//! are refused, whatever the partitions say.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use peregrine_ports::lease::{ExecutorLease, Fence, Holder, PartitionFence, PartitionLeases};
use tokio_util::sync::CancellationToken;

use crate::config::Liveness;
use crate::runtime::LocalRuntime;

/// The owner of the executor's single lease while executors share the load.
pub const SHARED_OWNER: &str = "executors sharing the load";

/// The pause between two rounds while partitions are still being handed over.
const SETTLING: Duration = Duration::from_millis(200);

/// How many of `count` partitions `owner` runs among `members` (sorted): the first
/// `count % members` run one more than the others.
pub fn share(members: &[String], owner: &str, count: u16) -> u16 {
    let size = u16::try_from(members.len().max(1)).unwrap_or(u16::MAX);
    let index = members
        .iter()
        .position(|member| member == owner)
        .and_then(|index| u16::try_from(index).ok())
        .unwrap_or(size.saturating_sub(1));
    count / size + u16::from(index < count % size)
}

/// What to do this round.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moves {
    /// Free partitions to take, up to the share.
    pub take: Vec<u16>,
    /// Partitions beyond the share, to give up (the highest numbers).
    pub give: Vec<u16>,
}

/// The moves that bring `held` to `share`, taking free partitions (or this owner's own, held
/// since a round cut short) in order.
pub fn moves(holders: &[Holder], held: &BTreeSet<u16>, owner: &str, share: u16) -> Moves {
    let share = usize::from(share);
    if held.len() > share {
        let give = held
            .iter()
            .rev()
            .take(held.len() - share)
            .copied()
            .collect();
        return Moves {
            take: Vec::new(),
            give,
        };
    }
    let take = holders
        .iter()
        .filter(|holder| !held.contains(&holder.partition))
        .filter(|holder| holder.owner.as_deref().is_none_or(|holder| holder == owner))
        .map(|holder| holder.partition)
        .take(share - held.len())
        .collect();
    Moves {
        take,
        give: Vec::new(),
    }
}

/// What the balancer works with.
pub struct Balancing {
    pub runtime: LocalRuntime,
    pub leases: Arc<dyn PartitionLeases>,
    pub lease: Arc<dyn ExecutorLease>,
    pub owner: String,
    pub count: u16,
    pub liveness: Liveness,
}

impl Balancing {
    /// Runs until `stop` (then gives every partition back, at once, for the others to take),
    /// or until a partition is lost (then cancels `lost` and returns why).
    pub fn run(
        self,
        stop: CancellationToken,
        lost: CancellationToken,
    ) -> tokio::task::JoinHandle<Option<String>> {
        tokio::spawn(async move {
            let mut fence = PartitionFence {
                owner: self.owner.clone(),
                ..PartitionFence::default()
            };
            let mut shared: Option<Fence> = None;
            let mut waiting = true;
            loop {
                let settled = match self.round(&mut fence, &mut shared, &mut waiting).await {
                    Ok(settled) => settled,
                    Err(Lost(reason)) => {
                        lost.cancel();
                        return Some(reason);
                    }
                };
                let pause = if settled {
                    self.liveness.heartbeat_interval.0
                } else {
                    SETTLING
                };
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = stop.cancelled() => break,
                }
            }
            self.give_all(&mut fence).await;
            let _ = self.leases.leave(&self.owner).await;
            None
        })
    }

    /// One round; true when this executor holds its share.
    async fn round(
        &self,
        fence: &mut PartitionFence,
        shared: &mut Option<Fence>,
        waiting: &mut bool,
    ) -> Result<bool, Lost> {
        let ttl = self.liveness.timeout.0;
        // The executor's single lease, held together: none runs while a standalone holds it.
        match shared {
            Some(lease) => match self.lease.renew(lease, ttl).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Lost(
                        "another executor has taken the executor lease over".into(),
                    ));
                }
                Err(error) => {
                    eprintln!("executor: cannot renew the executor lease, trying again: {error}");
                }
            },
            None => match self.lease.acquire(SHARED_OWNER, ttl).await {
                Ok(Some(epoch)) => {
                    let lease = Fence {
                        owner: SHARED_OWNER.into(),
                        epoch,
                    };
                    self.lease.fence_commits(lease.clone());
                    *shared = Some(lease);
                }
                Ok(None) => {
                    if std::mem::take(waiting) {
                        eprintln!(
                            "executor {}: an executor that does not share the load holds the \
                             lease, waiting",
                            self.owner
                        );
                    }
                    return Ok(true);
                }
                Err(error) => {
                    eprintln!("executor: cannot take the executor lease, trying again: {error}");
                    return Ok(true);
                }
            },
        }
        let members = match self.leases.join(&self.owner, ttl).await {
            Ok(members) => Some(members),
            Err(error) => {
                eprintln!("executor: cannot say it lives, trying again: {error}");
                None
            }
        };
        if !fence.epochs.is_empty() {
            match self.leases.renew_partitions(fence, ttl).await {
                Ok(renewed) => {
                    let lost: Vec<u16> = fence
                        .epochs
                        .keys()
                        .filter(|partition| !renewed.contains(partition))
                        .copied()
                        .collect();
                    if !lost.is_empty() {
                        return Err(Lost(format!(
                            "another executor has taken partitions {lost:?} over"
                        )));
                    }
                }
                Err(error) => {
                    eprintln!("executor: cannot renew its partitions, trying again: {error}");
                    return Ok(true);
                }
            }
        }
        let Some(members) = members else {
            return Ok(true);
        };
        let holders = match self.leases.holders().await {
            Ok(holders) => holders,
            Err(error) => {
                eprintln!("executor: cannot read who holds the partitions: {error}");
                return Ok(true);
            }
        };
        let share = share(&members, &self.owner, self.count);
        let held: BTreeSet<u16> = fence.epochs.keys().copied().collect();
        let moves = moves(&holders, &held, &self.owner, share);
        if moves == Moves::default() {
            return Ok(true);
        }
        for partition in &moves.give {
            self.give(fence, *partition).await;
        }
        // Leases are renewed at the start of each round, and taking a partition reads its
        // executions back: a round takes partitions for half a heartbeat at most.
        let started = std::time::Instant::now();
        for partition in &moves.take {
            if started.elapsed() > self.liveness.heartbeat_interval.0 / 2 {
                break;
            }
            match self
                .leases
                .acquire_partition(&self.owner, *partition, ttl)
                .await
            {
                Ok(Some(epoch)) => {
                    fence.epochs.insert(*partition, epoch);
                    self.leases.fence_partitions(fence.clone());
                    match self.runtime.take_partition(*partition).await {
                        Ok(recovered) => {
                            for skipped in &recovered.skipped {
                                eprintln!("not taken back: {skipped}");
                            }
                        }
                        Err(error) => {
                            // Given back: tried again next round.
                            eprintln!("executor: cannot take partition {partition} back: {error}");
                            self.release(fence, *partition).await;
                        }
                    }
                }
                Ok(None) => {}
                Err(error) => eprintln!("executor: cannot take partition {partition}: {error}"),
            }
        }
        eprintln!(
            "executor {}: runs {} of {} partitions",
            self.owner,
            fence.epochs.len(),
            self.count
        );
        Ok(fence.epochs.len() == usize::from(share))
    }

    /// Stops running `partition`, then gives its lease up.
    async fn give(&self, fence: &mut PartitionFence, partition: u16) {
        self.runtime.give_partition(partition).await;
        self.release(fence, partition).await;
    }

    /// Gives the lease of `partition` up (the runtime no longer runs it).
    async fn release(&self, fence: &mut PartitionFence, partition: u16) {
        let Some(epoch) = fence.epochs.remove(&partition) else {
            return;
        };
        self.leases.fence_partitions(fence.clone());
        if let Err(error) = self
            .leases
            .release_partition(&self.owner, partition, epoch)
            .await
        {
            eprintln!("executor: cannot give partition {partition} up (it expires): {error}");
        }
    }

    async fn give_all(&self, fence: &mut PartitionFence) {
        let held: Vec<u16> = fence.epochs.keys().copied().collect();
        for partition in held {
            self.give(fence, partition).await;
        }
    }
}

/// Why the balancer stopped the process.
struct Lost(String);

#[cfg(test)]
mod tests {
    use super::*;

    fn members(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_string()).collect()
    }

    fn holders(owners: &[Option<&str>]) -> Vec<Holder> {
        owners
            .iter()
            .enumerate()
            .map(|(partition, owner)| Holder {
                partition: u16::try_from(partition).unwrap_or_default(),
                owner: owner.map(str::to_string),
            })
            .collect()
    }

    #[test]
    fn shares_add_up_to_every_partition() {
        for size in 1..=20 {
            let all: Vec<String> = (0..size).map(|n| format!("e{n:02}")).collect();
            let total: u16 = all.iter().map(|member| share(&all, member, 16)).sum();
            assert_eq!(total, 16, "{size} members");
        }
        let three = members(&["a", "b", "c"]);
        assert_eq!(
            ["a", "b", "c"].map(|member| share(&three, member, 16)),
            [6, 5, 5]
        );
        assert_eq!(share(&members(&["a"]), "a", 16), 16);
    }

    #[test]
    fn free_partitions_are_taken_up_to_the_share() {
        let holders = holders(&[Some("b"), None, Some("a"), None, None]);
        let held = BTreeSet::from([2]);
        let moves = moves(&holders, &held, "a", 3);
        assert_eq!(moves.take, [1, 3]);
        assert!(moves.give.is_empty());
    }

    #[test]
    fn partitions_beyond_the_share_are_given_up_highest_first() {
        let holders = holders(&[Some("a"), Some("a"), Some("a"), Some("a")]);
        let held = BTreeSet::from([0, 1, 2, 3]);
        let moves = moves(&holders, &held, "a", 2);
        assert_eq!(moves.give, [3, 2]);
        assert!(moves.take.is_empty());
    }
}
