//! The contracts of [`OutboxQueue`], over the outbox that the same backend's
//! [`ExecutionStore::commit`] writes.
//!
//! Leases here are short (a few hundred milliseconds) and the tests sleep past them, on this
//! process's clock; a backend measures them on its own clock, which runs at the same pace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::partition::Partitions;
use crate::queue::{Claimed, Held, KILLS, OutboxQueue};
use crate::store::{Commit, ExecutionStore, OutboxRow};

/// Long enough that no lease of this length expires during a test.
const LONG: Duration = Duration::from_secs(600);
/// Short enough to sleep past.
const SHORT: Duration = Duration::from_millis(100);
/// Comfortably past [`SHORT`].
const PAST_SHORT: Duration = Duration::from_millis(300);
/// How long a test waits for a wake-up that should come at once...
const WAIT: Duration = Duration::from_secs(30);
/// ...and the most it may take.
const PROMPT: Duration = Duration::from_secs(10);

fn row(execution_id: &str, key: &str, value: i64) -> OutboxRow {
    OutboxRow {
        execution_id: execution_id.into(),
        key: key.into(),
        payload: json!({"value": value}),
    }
}

async fn commit<T: ExecutionStore + ?Sized>(store: &T, commit: Commit) {
    store
        .commit(Arc::new(commit))
        .await
        .expect("commit succeeds");
}

/// Puts `rows` in one commit.
async fn put<T: ExecutionStore + ?Sized>(store: &T, rows: Vec<OutboxRow>) {
    let put = Commit {
        put: rows,
        ..Commit::default()
    };
    commit(store, put).await;
}

/// Puts `rows` one commit each, so their order is the order they were put in.
async fn put_in_order<T: ExecutionStore + ?Sized>(store: &T, rows: Vec<OutboxRow>) {
    for row in rows {
        put(store, vec![row]).await;
    }
}

fn id(execution_id: &str, key: &str) -> (String, String) {
    (execution_id.into(), key.into())
}

/// The (execution id, key) of claimed rows, sorted.
fn claimed_ids(claimed: &[Claimed]) -> Vec<(String, String)> {
    let mut ids: Vec<_> = claimed
        .iter()
        .map(|claimed| id(&claimed.row.execution_id, &claimed.row.key))
        .collect();
    ids.sort();
    ids
}

/// The (execution id, key) of held rows, sorted.
fn held_ids(held: &[Held]) -> Vec<(String, String)> {
    let mut ids: Vec<_> = held
        .iter()
        .map(|held| id(&held.execution_id, &held.key))
        .collect();
    ids.sort();
    ids
}

async fn claim<T: OutboxQueue + ?Sized>(
    store: &T,
    prefix: &str,
    worker: &str,
    limit: usize,
    lease: Duration,
) -> Vec<Claimed> {
    store
        .claim(prefix, worker, limit, lease)
        .await
        .expect("claim succeeds")
}

async fn renew<T: OutboxQueue + ?Sized>(store: &T, worker: &str, lease: Duration) -> Vec<Held> {
    store.renew(worker, lease).await.expect("renew succeeds")
}

pub async fn claim_hands_each_row_to_one_worker<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    let jobs = [
        ("e1", "job:a"),
        ("e1", "job:b"),
        ("e1", "job:c"),
        ("e2", "job:a"),
        ("e2", "job:b"),
        ("e3", "job:a"),
    ];
    let mut rows: Vec<OutboxRow> = jobs
        .iter()
        .enumerate()
        .map(|(index, (execution_id, key))| row(execution_id, key, index as i64))
        .collect();
    rows.extend([
        row("e1", "result:a", 10),
        row("e1", "jobs:a", 11),
        row("e2", "timer:x", 12),
    ]);
    put(store, rows).await;
    let (first, second) = tokio::join!(
        claim(store, "job:", "w1", 4, LONG),
        claim(store, "job:", "w2", 4, LONG),
    );
    assert!(first.len() <= 4 && second.len() <= 4, "the limit holds");
    let first = claimed_ids(&first);
    let second = claimed_ids(&second);
    let overlap: Vec<_> = first.iter().filter(|id| second.contains(id)).collect();
    assert!(
        overlap.is_empty(),
        "a row went to both workers: {overlap:?}"
    );
    let mut all: Vec<_> = first.into_iter().chain(second).collect();
    all.sort();
    let mut expected: Vec<_> = jobs.iter().map(|(e, key)| id(e, key)).collect();
    expected.sort();
    assert_eq!(all, expected, "every job row, and only those, is claimed");
    assert!(
        claim(store, "job:", "w3", 10, LONG).await.is_empty(),
        "held rows are not claimed again"
    );
    let results = claim(store, "result:", "w3", 10, LONG).await;
    assert_eq!(claimed_ids(&results), vec![id("e1", "result:a")]);
    assert_eq!(results[0].row, row("e1", "result:a", 10));
    assert_eq!((results[0].claims, results[0].killed), (1, false));
}

pub async fn an_expired_lease_is_claimed_again_with_claims_counted<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    put(store, vec![row("e1", "job:a", 1)]).await;
    let first = claim(store, "job:", "w1", 10, SHORT).await;
    assert_eq!(claimed_ids(&first), vec![id("e1", "job:a")]);
    assert_eq!(first[0].claims, 1);
    assert!(
        claim(store, "job:", "w2", 10, LONG).await.is_empty(),
        "a live lease keeps the row"
    );
    tokio::time::sleep(PAST_SHORT).await;
    let second = claim(store, "job:", "w2", 10, LONG).await;
    assert_eq!(claimed_ids(&second), vec![id("e1", "job:a")]);
    assert_eq!(second[0].claims, 2, "the lost attempt is counted");
    assert_eq!(second[0].row, row("e1", "job:a", 1));
    assert!(
        renew(store, "w1", LONG).await.is_empty(),
        "the first worker no longer holds the row"
    );
    assert_eq!(
        held_ids(&renew(store, "w2", LONG).await),
        vec![id("e1", "job:a")]
    );
}

pub async fn renew_keeps_rows_and_drops_consumed_ones<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    put(
        store,
        vec![
            row("e1", "job:a", 1),
            row("e1", "job:b", 2),
            row("e2", "job:a", 3),
        ],
    )
    .await;
    let claimed = claim(store, "job:", "w1", 10, SHORT).await;
    assert_eq!(claimed.len(), 3);
    let done = Commit {
        done: vec![id("e1", "job:b")],
        ..Commit::default()
    };
    commit(store, done).await;
    let started = Instant::now();
    let held = renew(store, "w1", LONG).await;
    assert_eq!(
        held_ids(&held),
        vec![id("e1", "job:a"), id("e2", "job:a")],
        "a consumed row is not held any more"
    );
    assert!(held.iter().all(|held| !held.killed));
    // Past the first lease: only the renewal keeps the rows.
    tokio::time::sleep(PAST_SHORT.saturating_sub(started.elapsed())).await;
    assert!(
        claim(store, "job:", "w2", 10, LONG).await.is_empty(),
        "renewed rows stay with their worker"
    );
    assert!(renew(store, "w2", LONG).await.is_empty());
    assert_eq!(renew(store, "w1", LONG).await.len(), 2);
}

pub async fn putting_a_row_again_clears_its_claim<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    put(store, vec![row("e1", "job:a", 1)]).await;
    assert_eq!(claim(store, "job:", "w1", 10, LONG).await.len(), 1);
    store.kill("e1", "job:").await.expect("kill succeeds");
    put(store, vec![row("e1", "job:a", 2)]).await;
    assert!(
        renew(store, "w1", LONG).await.is_empty(),
        "the row put again is no longer held"
    );
    let again = claim(store, "job:", "w2", 10, LONG).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].row, row("e1", "job:a", 2), "the new payload");
    assert_eq!(
        (again[0].claims, again[0].killed),
        (1, false),
        "claims and the kill flag start over"
    );
}

pub async fn release_hands_rows_back<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    put_in_order(store, vec![row("e1", "job:a", 1), row("e1", "job:b", 2)]).await;
    assert_eq!(claim(store, "job:", "w1", 10, LONG).await.len(), 2);
    store
        .release("w2", vec![id("e1", "job:b")])
        .await
        .expect("release succeeds");
    store
        .release("w1", vec![id("e1", "job:a"), id("e9", "job:z")])
        .await
        .expect("release succeeds");
    let again = claim(store, "job:", "w2", 10, LONG).await;
    assert_eq!(
        claimed_ids(&again),
        vec![id("e1", "job:a")],
        "only the row its holder released is claimed again"
    );
    assert_eq!(again[0].claims, 2, "a released claim counts as an attempt");
    assert_eq!(
        held_ids(&renew(store, "w1", LONG).await),
        vec![id("e1", "job:b")]
    );
}

pub async fn kill_marks_rows_and_claims_see_it<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    put_in_order(
        store,
        vec![
            row("e1", "job:a", 1),
            row("e1", "job:b", 2),
            row("e1", "result:a", 3),
            row("e2", "job:a", 4),
        ],
    )
    .await;
    let first = claim(store, "job:", "w1", 1, LONG).await;
    assert_eq!(claimed_ids(&first), vec![id("e1", "job:a")], "oldest first");
    assert!(!first[0].killed);
    let started = Instant::now();
    store.kill("e1", "job:").await.expect("kill succeeds");
    store.wait(KILLS, WAIT).await;
    assert!(
        started.elapsed() < PROMPT,
        "a kill wakes the waiters of kills"
    );
    let held = renew(store, "w1", LONG).await;
    assert_eq!(held_ids(&held), vec![id("e1", "job:a")]);
    assert!(
        held[0].killed,
        "the holder learns of the kill when it renews"
    );
    let mut rest = claim(store, "job:", "w2", 10, LONG).await;
    rest.sort_by(|a, b| (&a.row.execution_id, &a.row.key).cmp(&(&b.row.execution_id, &b.row.key)));
    let flags: Vec<_> = rest
        .iter()
        .map(|claimed| (claimed.row.execution_id.as_str(), claimed.killed))
        .collect();
    assert_eq!(flags, vec![("e1", true), ("e2", false)]);
    let results = claim(store, "result:", "w2", 10, LONG).await;
    assert_eq!(results.len(), 1);
    assert!(!results[0].killed, "other prefixes are not killed");
}

pub async fn rows_lists_by_prefix_oldest_first<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    put_in_order(
        store,
        vec![
            row("e2", "result:b", 1),
            row("e1", "result:a", 2),
            row("e1", "job:x", 3),
            row("e1", "result:c", 4),
            row("e1", "a_b:1", 5),
            row("e1", "axb:1", 6),
        ],
    )
    .await;
    assert_eq!(claim(store, "result:", "w1", 1, LONG).await.len(), 1);
    let expected = vec![
        row("e2", "result:b", 1),
        row("e1", "result:a", 2),
        row("e1", "result:c", 4),
    ];
    assert_eq!(
        store
            .rows("result:", &Partitions::All, 10)
            .await
            .expect("rows"),
        expected,
        "claimed or not, in the order put"
    );
    assert_eq!(
        store
            .rows("result:", &Partitions::All, 2)
            .await
            .expect("rows"),
        expected[..2].to_vec()
    );
    assert_eq!(
        store
            .rows("a_b:", &Partitions::All, 10)
            .await
            .expect("rows"),
        vec![row("e1", "a_b:1", 5)],
        "the prefix is matched literally"
    );
    assert_eq!(
        store.rows("none:", &Partitions::All, 10).await,
        Ok(Vec::new())
    );
}

pub async fn rows_are_read_by_partition<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    let count = store.partition_count();
    let [first, second] = [0, 1].map(|partition| super::store::id_in(partition, count, "e"));
    put_in_order(
        store,
        vec![
            row(&second, "result:b", 1),
            row(&first, "result:a", 2),
            row(&second, "result:c", 3),
            row(&first, "result:d", 4),
        ],
    )
    .await;
    let keys = |partitions: Partitions, limit: usize| async move {
        store
            .rows("result:", &partitions, limit)
            .await
            .expect("rows")
            .into_iter()
            .map(|row| row.key)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(Partitions::Only(vec![1]), 10).await,
        ["result:b", "result:c"]
    );
    assert_eq!(
        keys(Partitions::Only(vec![0]), 1).await,
        ["result:a"],
        "the limit counts the partition's rows only"
    );
    assert_eq!(keys(Partitions::Only(vec![0, 1]), 10).await.len(), 4);
    assert_eq!(keys(Partitions::Only(Vec::new()), 10).await.len(), 0);
    assert_eq!(keys(Partitions::All, 3).await.len(), 3);
}

pub async fn wait_returns_on_put_and_keeps_a_missed_notification<T>(store: &T)
where
    T: ExecutionStore + OutboxQueue + ?Sized,
{
    // Put while nobody waits: the next wait returns at once.
    put(store, vec![row("e1", "job:a", 1)]).await;
    let started = Instant::now();
    store.wait("job:", WAIT).await;
    assert!(started.elapsed() < PROMPT, "a missed put is not lost");
    // Put while waiting: the wait returns.
    let started = Instant::now();
    let later = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        put(store, vec![row("e1", "job:b", 2)]).await;
    };
    tokio::join!(store.wait("job:", WAIT), later);
    assert!(started.elapsed() < PROMPT, "a put wakes the waiter");
    // Nothing put: the wait ends by its timeout at the latest.
    let started = Instant::now();
    store.wait("result:", SHORT).await;
    assert!(started.elapsed() < PROMPT, "the timeout ends the wait");
    // Rows put with a key without a prefix wake nobody, and break nothing.
    put(store, vec![row("e1", "ended", 3)]).await;
    store.wait("job:", SHORT).await;
    assert_eq!(
        store
            .rows("job:", &Partitions::All, 10)
            .await
            .map(|rows| rows.len()),
        Ok(2)
    );
}
