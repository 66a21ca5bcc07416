//! Contracts of [`ExecutorLease`]: one holder at a time, takeover after expiry with a higher
//! epoch, renewals and commits of a replaced holder refused; the same of [`PartitionLeases`]
//! for each partition, and its members.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::lease::{ExecutorLease, Fence, PartitionLeases};
use crate::store::{Commit, ExecutionStore, OutboxRow};

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(30);

fn fence(owner: &str, epoch: u64) -> Fence {
    Fence {
        owner: owner.to_string(),
        epoch,
    }
}

fn a_commit() -> Arc<Commit> {
    Arc::new(Commit {
        put: vec![OutboxRow {
            execution_id: "lease-test".into(),
            key: "timer:x".into(),
            payload: serde_json::json!({}),
        }],
        ..Commit::default()
    })
}

pub async fn only_one_owner_holds_the_lease<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: ExecutorLease + ExecutionStore + ?Sized,
{
    let first = store.acquire("a", LONG).await.expect("acquire");
    assert!(first.is_some(), "a free lease is taken");
    assert_eq!(store.acquire("b", LONG).await.expect("acquire"), None);
    let again = store.acquire("a", LONG).await.expect("acquire");
    assert_eq!(
        again, first,
        "its holder takes it again, with the same epoch"
    );
}

pub async fn an_expired_lease_goes_to_the_next_owner_with_a_higher_epoch<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: ExecutorLease + ExecutionStore + ?Sized,
{
    let first = store
        .acquire("a", SHORT)
        .await
        .expect("acquire")
        .expect("free");
    assert!(store.renew(&fence("a", first), SHORT).await.expect("renew"));
    tokio::time::sleep(SHORT * 2).await;
    let second = store
        .acquire("b", LONG)
        .await
        .expect("acquire")
        .expect("expired");
    assert!(second > first, "{second} > {first}");
    assert!(
        !store.renew(&fence("a", first), LONG).await.expect("renew"),
        "a replaced holder cannot renew"
    );
    assert!(store.renew(&fence("b", second), LONG).await.expect("renew"));
}

pub async fn a_released_lease_is_free_at_once<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: ExecutorLease + ExecutionStore + ?Sized,
{
    let first = store
        .acquire("a", LONG)
        .await
        .expect("acquire")
        .expect("free");
    store.release(&fence("b", first)).await.expect("release");
    assert_eq!(
        store.acquire("b", LONG).await.expect("acquire"),
        None,
        "only the holder releases"
    );
    store.release(&fence("a", first)).await.expect("release");
    let second = store.acquire("b", LONG).await.expect("acquire");
    assert!(second.is_some_and(|second| second > first));
}

pub async fn commits_of_a_replaced_holder_are_refused<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: ExecutorLease + ExecutionStore + ?Sized,
{
    let first = store
        .acquire("a", SHORT)
        .await
        .expect("acquire")
        .expect("free");
    store.fence_commits(fence("a", first));
    store.commit(a_commit()).await.expect("the holder commits");
    tokio::time::sleep(SHORT * 2).await;
    store
        .commit(a_commit())
        .await
        .expect("an expired lease nobody took still commits");
    let second = store
        .acquire("b", LONG)
        .await
        .expect("acquire")
        .expect("expired");
    let refused = store.commit(a_commit()).await;
    assert!(
        matches!(refused, Err(crate::repository::Error::Conflict(_))),
        "{refused:?}"
    );
    store.fence_commits(fence("b", second));
    store
        .commit(a_commit())
        .await
        .expect("the new holder commits");
}

fn partition_fence(owner: &str, epochs: &[(u16, u64)]) -> crate::lease::PartitionFence {
    crate::lease::PartitionFence {
        owner: owner.to_string(),
        epochs: epochs.iter().copied().collect(),
    }
}

pub async fn members_are_the_executors_that_live<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: PartitionLeases + ExecutionStore + ?Sized,
{
    assert_eq!(store.join("b", SHORT).await.expect("join"), ["b"]);
    assert_eq!(store.join("a", LONG).await.expect("join"), ["a", "b"]);
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(
        store.join("c", LONG).await.expect("join"),
        ["a", "c"],
        "a member silent past its ttl is not counted"
    );
    store.leave("a").await.expect("leave");
    assert_eq!(store.join("c", LONG).await.expect("join"), ["c"]);
}

pub async fn a_partition_has_one_holder_and_goes_on_after_expiry_with_a_higher_epoch<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: PartitionLeases + ExecutionStore + ?Sized,
{
    let count = store.partition_count();
    let first = store
        .acquire_partition("a", 0, SHORT)
        .await
        .expect("acquire")
        .expect("free");
    assert_eq!(
        store
            .acquire_partition("a", 0, SHORT)
            .await
            .expect("acquire"),
        Some(first),
        "its holder takes it again, with the same epoch"
    );
    assert_eq!(
        store
            .acquire_partition("b", 0, LONG)
            .await
            .expect("acquire"),
        None
    );
    let other = store
        .acquire_partition("b", 1, LONG)
        .await
        .expect("acquire")
        .expect("free");
    let holders = store.holders().await.expect("holders");
    assert_eq!(holders.len(), usize::from(count));
    assert_eq!(holders[0].owner.as_deref(), Some("a"));
    assert_eq!(holders[1].owner.as_deref(), Some("b"));
    assert_eq!(holders[2].owner, None);
    assert_eq!(
        store
            .renew_partitions(&partition_fence("a", &[(0, first)]), SHORT)
            .await
            .expect("renew"),
        [0]
    );
    tokio::time::sleep(SHORT * 2).await;
    assert_eq!(store.holders().await.expect("holders")[0].owner, None);
    let second = store
        .acquire_partition("b", 0, LONG)
        .await
        .expect("acquire")
        .expect("expired");
    assert!(second > first, "{second} > {first}");
    assert_eq!(
        store
            .renew_partitions(&partition_fence("a", &[(0, first)]), LONG)
            .await
            .expect("renew"),
        Vec::<u16>::new(),
        "a replaced holder cannot renew"
    );
    let both = partition_fence("b", &[(0, second), (1, other)]);
    assert_eq!(
        store.renew_partitions(&both, LONG).await.expect("renew"),
        [0, 1]
    );
    store
        .release_partition("a", 1, other)
        .await
        .expect("release");
    assert_eq!(
        store.holders().await.expect("holders")[1].owner.as_deref(),
        Some("b"),
        "only the holder releases"
    );
    store
        .release_partition("b", 1, other)
        .await
        .expect("release");
    let third = store
        .acquire_partition("a", 1, LONG)
        .await
        .expect("acquire");
    assert!(third.is_some_and(|third| third > other), "free at once");
}

pub async fn commits_touching_partitions_not_held_are_refused<S, T>(store: S)
where
    S: Deref<Target = T>,
    T: PartitionLeases + ExecutionStore + ?Sized,
{
    let count = store.partition_count();
    let [mine, theirs] = [0, 1].map(|p| super::store::id_in(p, count, "fenced"));
    // Consumes a row of the execution, and puts one for an execution of partition 1.
    let commit_for = |id: &str| {
        Arc::new(Commit {
            done: vec![(id.to_string(), "timer:x".into())],
            put: vec![OutboxRow {
                execution_id: theirs.clone(),
                key: "command:x".into(),
                payload: serde_json::json!({}),
            }],
            ..Commit::default()
        })
    };
    let first = store
        .acquire_partition("a", 0, SHORT)
        .await
        .expect("acquire")
        .expect("free");
    store.fence_partitions(partition_fence("a", &[(0, first)]));
    store
        .commit(commit_for(&mine))
        .await
        .expect("the holder commits");
    let foreign = store.commit(commit_for(&theirs)).await;
    assert!(
        matches!(foreign, Err(crate::repository::Error::Conflict(_))),
        "a partition not held: {foreign:?}"
    );
    tokio::time::sleep(SHORT * 2).await;
    store
        .commit(commit_for(&mine))
        .await
        .expect("an expired lease nobody took still commits");
    let second = store
        .acquire_partition("b", 0, LONG)
        .await
        .expect("acquire")
        .expect("expired");
    let refused = store.commit(commit_for(&mine)).await;
    assert!(
        matches!(refused, Err(crate::repository::Error::Conflict(_))),
        "{refused:?}"
    );
    store.fence_partitions(partition_fence("b", &[(0, second)]));
    store
        .commit(commit_for(&mine))
        .await
        .expect("the new holder commits");
}
