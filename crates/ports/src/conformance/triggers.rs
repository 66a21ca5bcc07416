//! The contracts of [`TriggerStore`]: conditional writes on the revision, so one slot is
//! claimed once whatever the number of schedulers.

use jiff::Timestamp;

use crate::triggers::{self, TriggerKey, TriggerQuery, TriggerState, TriggerStore};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("valid instant")
}

fn state(namespace: &str, flow_id: &str, trigger_id: &str) -> TriggerState {
    TriggerState {
        key: TriggerKey::new(namespace, flow_id, trigger_id),
        date: at(0),
        next_execution_date: Some(at(60)),
        disabled: false,
        execution_id: None,
        updated_date: at(1),
        revision: 0,
    }
}

async fn create(store: &dyn TriggerStore, state: TriggerState) -> TriggerState {
    store
        .put(state, None)
        .await
        .expect("the store answers")
        .expect("no state was stored")
}

pub async fn a_new_state_is_read_back_whole(store: &dyn TriggerStore) {
    let mut written = state("team", "f", "schedule");
    written.execution_id = Some("exec1".into());
    written.disabled = true;
    written.next_execution_date = None;
    let stored = create(store, written.clone()).await;
    assert_eq!(stored.revision, 1);
    written.revision = 1;
    assert_eq!(stored, written);
    let read = store.get(&written.key).await.expect("read");
    assert_eq!(read, Some(written));
    let missing = TriggerKey::new("team", "f", "other");
    assert_eq!(store.get(&missing).await.expect("read"), None);
}

pub async fn creating_refuses_a_state_already_stored(store: &dyn TriggerStore) {
    create(store, state("team", "f", "schedule")).await;
    let mut again = state("team", "f", "schedule");
    again.disabled = true;
    assert_eq!(store.put(again.clone(), None).await.expect("answers"), None);
    let read = store.get(&again.key).await.expect("read").expect("stored");
    assert!(!read.disabled, "the first state stays");
}

pub async fn a_write_needs_the_revision_it_read(store: &dyn TriggerStore) {
    let first = create(store, state("team", "f", "schedule")).await;
    let mut claimed = first.clone();
    claimed.date = at(60);
    claimed.next_execution_date = Some(at(120));
    claimed.execution_id = Some("exec1".into());
    let stored = store
        .put(claimed.clone(), Some(first.revision))
        .await
        .expect("answers")
        .expect("the revision matched");
    assert_eq!(stored.revision, 2);
    // A writer that read revision 1 is refused and the claim stays.
    let mut stale = first.clone();
    stale.execution_id = Some("exec2".into());
    assert_eq!(store.put(stale, Some(1)).await.expect("answers"), None);
    assert_eq!(
        store.put(first.clone(), Some(7)).await.expect("answers"),
        None
    );
    let read = store.get(&first.key).await.expect("read").expect("stored");
    assert_eq!(read.execution_id.as_deref(), Some("exec1"));
    assert_eq!(read.next_execution_date, Some(at(120)));
    // Updating a state that is not stored is refused too.
    let absent = state("team", "g", "schedule");
    assert_eq!(
        store.put(absent.clone(), Some(1)).await.expect("answers"),
        None
    );
    assert_eq!(store.get(&absent.key).await.expect("read"), None);
}

pub async fn racing_writers_of_one_revision_have_one_winner(store: &dyn TriggerStore) {
    let first = create(store, state("team", "f", "schedule")).await;
    let claim = |execution: &str| {
        let mut claimed = first.clone();
        claimed.execution_id = Some(execution.to_string());
        store.put(claimed, Some(first.revision))
    };
    let (a, b, c) = tokio::join!(claim("a"), claim("b"), claim("c"));
    let winners: Vec<TriggerState> = [a, b, c]
        .into_iter()
        .filter_map(|result| result.expect("answers"))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
    let read = store.get(&first.key).await.expect("read").expect("stored");
    assert_eq!(read.execution_id, winners[0].execution_id);
    assert_eq!(read.revision, 2);
}

pub async fn list_filters_by_namespace_tree_and_flow_sorted(store: &dyn TriggerStore) {
    for (namespace, flow, trigger) in [
        ("team.sub", "b", "t"),
        ("team", "b", "t2"),
        ("team", "a", "t"),
        ("teams", "a", "t"),
        ("team", "b", "t1"),
    ] {
        create(store, state(namespace, flow, trigger)).await;
    }
    let names = |states: Vec<TriggerState>| -> Vec<String> {
        states.iter().map(|state| state.key.to_string()).collect()
    };
    let all = store.list(&TriggerQuery::default()).await.expect("list");
    assert_eq!(
        names(all),
        [
            "team.a.t",
            "team.b.t1",
            "team.b.t2",
            "team.sub.b.t",
            "teams.a.t"
        ]
    );
    let query = TriggerQuery {
        namespace: Some("team".into()),
        flow_id: None,
    };
    let tree = store.list(&query).await.expect("list");
    assert_eq!(
        names(tree),
        ["team.a.t", "team.b.t1", "team.b.t2", "team.sub.b.t"]
    );
    let query = TriggerQuery {
        namespace: Some("team".into()),
        flow_id: Some("b".into()),
    };
    let flow = store.list(&query).await.expect("list");
    assert_eq!(names(flow), ["team.b.t1", "team.b.t2", "team.sub.b.t"]);
}

pub async fn delete_removes_only_that_state(store: &dyn TriggerStore) {
    let kept = create(store, state("team", "f", "kept")).await;
    let gone = create(store, state("team", "f", "gone")).await;
    assert!(store.delete(&gone.key).await.expect("delete"));
    assert!(!store.delete(&gone.key).await.expect("delete"));
    assert_eq!(store.get(&gone.key).await.expect("read"), None);
    assert_eq!(store.get(&kept.key).await.expect("read"), Some(kept));
    // A deleted state can be created again, from revision 1.
    let again = create(store, state("team", "f", "gone")).await;
    assert_eq!(again.revision, 1);
}

pub async fn update_reads_again_after_losing_a_race(store: &dyn TriggerStore) {
    let first = create(store, state("team", "f", "schedule")).await;
    let changed = triggers::update(store, &first.key, |state| {
        state.disabled = true;
        true
    })
    .await
    .expect("updated")
    .expect("stored");
    assert!(changed.disabled);
    assert_eq!(changed.revision, 2);
    let unchanged = triggers::update(store, &first.key, |_| false)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(unchanged.revision, 2, "no write when nothing changes");
    let missing = TriggerKey::new("team", "f", "missing");
    let none = triggers::update(store, &missing, |_| true)
        .await
        .expect("read");
    assert_eq!(none, None);
}
