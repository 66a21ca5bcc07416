//! The contracts of [`FlowRepository`].

use jiff::Timestamp;

use crate::repository::{FlowHead, FlowQuery, FlowRepository};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("valid instant")
}

fn source(namespace: &str, id: &str, message: &str) -> String {
    format!(
        "id: {id}\nnamespace: {namespace}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
    )
}

pub async fn revisions_grow_only_when_the_source_changes(flows: &dyn FlowRepository) {
    let first = flows
        .save("team", "f", source("team", "f", "a"), at(0))
        .await;
    assert_eq!(first.map(|record| record.revision), Ok(1));
    let same = flows
        .save("team", "f", source("team", "f", "a"), at(1))
        .await;
    assert_eq!(same.map(|record| record.revision), Ok(1));
    let changed = flows
        .save("team", "f", source("team", "f", "b"), at(2))
        .await;
    assert_eq!(changed.map(|record| record.revision), Ok(2));
    let revisions = flows.revisions("team", "f").await.expect("revisions");
    let numbers: Vec<u32> = revisions.iter().map(|record| record.revision).collect();
    assert_eq!(numbers, vec![1, 2]);
    assert_eq!(revisions[0].source, source("team", "f", "a"));
}

pub async fn get_returns_the_latest_or_the_asked_revision(flows: &dyn FlowRepository) {
    flows
        .save("team", "f", source("team", "f", "a"), at(0))
        .await
        .expect("saved");
    flows
        .save("team", "f", source("team", "f", "b"), at(1))
        .await
        .expect("saved");
    let latest = flows.get("team", "f", None).await.expect("get");
    assert_eq!(latest.map(|record| record.revision), Some(2));
    let first = flows.get("team", "f", Some(1)).await.expect("get");
    assert_eq!(
        first.map(|record| record.source),
        Some(source("team", "f", "a"))
    );
    assert_eq!(flows.get("team", "other", None).await, Ok(None));
    assert_eq!(flows.get("team", "f", Some(9)).await, Ok(None));
}

pub async fn delete_hides_the_flow_and_a_new_save_continues_the_revisions(
    flows: &dyn FlowRepository,
) {
    flows
        .save("team", "f", source("team", "f", "a"), at(0))
        .await
        .expect("saved");
    assert_eq!(flows.delete("team", "f", at(1)).await, Ok(true));
    assert_eq!(flows.delete("team", "f", at(2)).await, Ok(false));
    assert_eq!(flows.get("team", "f", None).await, Ok(None));
    assert_eq!(flows.list(&FlowQuery::default()).await, Ok(Vec::new()));
    let again = flows
        .save("team", "f", source("team", "f", "a"), at(3))
        .await;
    assert_eq!(again.map(|record| record.revision), Ok(2));
}

pub async fn list_filters_by_namespace_tree_and_text_sorted(flows: &dyn FlowRepository) {
    for (namespace, id) in [
        ("team.b", "y"),
        ("team", "z"),
        ("team.a", "x"),
        ("teams", "w"),
    ] {
        flows
            .save(namespace, id, source(namespace, id, "hello"), at(0))
            .await
            .expect("saved");
    }
    let query = FlowQuery {
        namespace: Some("team".into()),
        text: None,
    };
    let listed: Vec<String> = flows
        .list(&query)
        .await
        .expect("list")
        .into_iter()
        .map(|record| format!("{}.{}", record.namespace, record.id))
        .collect();
    assert_eq!(listed, vec!["team.z", "team.a.x", "team.b.y"]);
    let query = FlowQuery {
        namespace: None,
        text: Some("W".into()),
    };
    let listed = flows.list(&query).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "w");
}

pub async fn heads_tell_the_latest_revision_of_every_flow_not_deleted(flows: &dyn FlowRepository) {
    for (namespace, id, message) in [
        ("team", "b", "one"),
        ("team", "b", "two"),
        ("team", "a", "one"),
        ("other", "gone", "one"),
        ("team.sub", "c", "one"),
    ] {
        flows
            .save(namespace, id, source(namespace, id, message), at(0))
            .await
            .expect("saved");
    }
    assert_eq!(flows.delete("other", "gone", at(1)).await, Ok(true));
    let head = |namespace: &str, id: &str, revision| FlowHead {
        namespace: namespace.into(),
        id: id.into(),
        revision,
    };
    let expected = vec![
        head("team", "a", 1),
        head("team", "b", 2),
        head("team.sub", "c", 1),
    ];
    assert_eq!(flows.heads().await, Ok(expected));
    let listed: Vec<FlowHead> = flows
        .list(&FlowQuery::default())
        .await
        .expect("list")
        .into_iter()
        .map(|record| head(&record.namespace, &record.id, record.revision))
        .collect();
    assert_eq!(flows.heads().await, Ok(listed), "as list answers");
}
