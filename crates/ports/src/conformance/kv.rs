//! The contracts of [`KvStore`].

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::kv::{Error, KvPut, KvStore, KvValue};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("valid instant")
}

async fn set(kv: &dyn KvStore, namespace: &str, key: &str, value: KvValue) {
    kv.set(namespace, key, KvPut::new(value), at(0))
        .await
        .expect("set succeeds");
}

async fn keys(
    kv: &dyn KvStore,
    namespace: &str,
    prefix: Option<&str>,
    now: Timestamp,
) -> Vec<String> {
    kv.list(namespace, prefix, now)
        .await
        .expect("list succeeds")
        .into_iter()
        .map(|entry| entry.key)
        .collect()
}

pub async fn set_then_get_returns_the_typed_value(kv: &dyn KvStore) {
    let values = [
        KvValue::String("text".into()),
        KvValue::Number(serde_json::Number::from_f64(1.5).expect("finite")),
        KvValue::Number(42.into()),
        KvValue::Boolean(true),
        KvValue::Datetime(at(5)),
        KvValue::Date("2024-02-29".parse().expect("date")),
        KvValue::Duration("PT1H30M".parse().expect("duration")),
        KvValue::Json(json!({"list": [1, "two", null], "nested": {"a": true}})),
    ];
    for (index, value) in values.into_iter().enumerate() {
        let key = format!("typed-{index}");
        set(kv, "conformance.kv.typed", &key, value.clone()).await;
        let record = kv
            .get("conformance.kv.typed", &key, at(1))
            .await
            .expect("get")
            .expect("present");
        assert_eq!(record.value, value);
        assert_eq!(record.entry.key, key);
        assert_eq!(record.entry.created, at(0));
        assert_eq!(record.entry.expires, None);
    }
}

pub async fn missing_key_is_none(kv: &dyn KvStore) {
    let missing = kv.get("conformance.kv.missing", "nothing", at(0)).await;
    assert_eq!(missing, Ok(None));
}

pub async fn replacing_keeps_creation_date_and_description_follows(kv: &dyn KvStore) {
    let namespace = "conformance.kv.replace";
    let mut first = KvPut::new(KvValue::String("one".into()));
    first.description = Some("the first".into());
    kv.set(namespace, "key", first, at(0)).await.expect("set");
    kv.set(
        namespace,
        "key",
        KvPut::new(KvValue::Boolean(false)),
        at(10),
    )
    .await
    .expect("replace");
    let record = kv
        .get(namespace, "key", at(11))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(record.value, KvValue::Boolean(false));
    assert_eq!(record.entry.created, at(0));
    assert_eq!(record.entry.updated, at(10));
    assert_eq!(record.entry.description, None);
}

pub async fn overwrite_false_refuses_a_live_key_only(kv: &dyn KvStore) {
    let namespace = "conformance.kv.overwrite";
    let mut short_lived = KvPut::new(KvValue::String("first".into()));
    short_lived.ttl = Some("PT10S".parse().expect("duration"));
    kv.set(namespace, "key", short_lived, at(0))
        .await
        .expect("set");
    let mut careful = KvPut::new(KvValue::String("second".into()));
    careful.overwrite = false;
    assert_eq!(
        kv.set(namespace, "key", careful.clone(), at(5)).await,
        Err(Error::AlreadyExists("key".into()))
    );
    kv.set(namespace, "key", careful, at(10))
        .await
        .expect("an expired key does not block");
    let record = kv
        .get(namespace, "key", at(11))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(record.value, KvValue::String("second".into()));
    assert_eq!(record.entry.created, at(10), "an expired key is a new key");
}

pub async fn expired_keys_are_absent(kv: &dyn KvStore) {
    let namespace = "conformance.kv.expiry";
    let mut put = KvPut::new(KvValue::Number(1.into()));
    put.ttl = Some("PT1M".parse().expect("duration"));
    kv.set(namespace, "short", put, at(0)).await.expect("set");
    set(kv, namespace, "forever", KvValue::Number(2.into())).await;
    let record = kv
        .get(namespace, "short", at(59))
        .await
        .expect("get")
        .expect("alive before its expiry");
    assert_eq!(
        record.entry.expires,
        Some(at(0) + SignedDuration::from_secs(60))
    );
    assert_eq!(kv.get(namespace, "short", at(60)).await, Ok(None));
    assert_eq!(
        keys(kv, namespace, None, at(59)).await,
        ["forever", "short"]
    );
    assert_eq!(keys(kv, namespace, None, at(61)).await, ["forever"]);
}

pub async fn delete_reports_whether_a_key_existed(kv: &dyn KvStore) {
    let namespace = "conformance.kv.delete";
    set(kv, namespace, "key", KvValue::Boolean(true)).await;
    assert_eq!(kv.delete(namespace, "key").await, Ok(true));
    assert_eq!(kv.delete(namespace, "key").await, Ok(false));
    assert_eq!(kv.get(namespace, "key", at(1)).await, Ok(None));
}

pub async fn list_filters_by_prefix_and_sorts(kv: &dyn KvStore) {
    let namespace = "conformance.kv.list";
    for key in ["b.two", "a", "b.one", "c"] {
        set(kv, namespace, key, KvValue::String(key.into())).await;
    }
    assert_eq!(
        keys(kv, namespace, None, at(1)).await,
        ["a", "b.one", "b.two", "c"]
    );
    assert_eq!(
        keys(kv, namespace, Some("b."), at(1)).await,
        ["b.one", "b.two"]
    );
    assert!(keys(kv, namespace, Some("z"), at(1)).await.is_empty());
    assert!(
        keys(kv, "conformance.kv.empty", None, at(1))
            .await
            .is_empty()
    );
}

pub async fn namespaces_are_isolated(kv: &dyn KvStore) {
    set(
        kv,
        "conformance.kv.iso",
        "key",
        KvValue::String("parent".into()),
    )
    .await;
    set(
        kv,
        "conformance.kv.iso.child",
        "key",
        KvValue::String("child".into()),
    )
    .await;
    set(
        kv,
        "conformance.kv.iso.child",
        "only-child",
        KvValue::Boolean(true),
    )
    .await;
    let parent = kv
        .get("conformance.kv.iso", "key", at(1))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(parent.value, KvValue::String("parent".into()));
    assert_eq!(keys(kv, "conformance.kv.iso", None, at(1)).await, ["key"]);
    assert_eq!(
        kv.get("conformance.kv.iso", "only-child", at(1)).await,
        Ok(None)
    );
}

pub async fn invalid_keys_are_refused(kv: &dyn KvStore) {
    for key in ["", "../escape", "a/b", ".hidden", "with space"] {
        assert_eq!(
            kv.set(
                "conformance.kv.invalid",
                key,
                KvPut::new(KvValue::Boolean(true)),
                at(0)
            )
            .await,
            Err(Error::InvalidKey(key.into())),
            "{key:?}"
        );
        assert_eq!(
            kv.get("conformance.kv.invalid", key, at(0)).await,
            Err(Error::InvalidKey(key.into()))
        );
    }
}
