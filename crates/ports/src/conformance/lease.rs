//! Contracts of [`ExecutorLease`]: one holder at a time, takeover after expiry with a higher
//! epoch, renewals and commits of a replaced holder refused.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::lease::{ExecutorLease, Fence};
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
