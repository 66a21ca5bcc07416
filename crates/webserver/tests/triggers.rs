//! `/api/v1/triggers` over the in-memory flows and trigger states: search (paging, text,
//! namespace tree, the trigger's definition or null), the states of one flow, disable and enable
//! again, unlock and restart, one by one and in bulk.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::Timestamp;
use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::memory::{MemoryExecutions, MemoryFlows, MemoryStorage, MemoryTriggers};
use peregrine_ports::repository::{
    Error, ExecutionCommands, ExecutionUpdates, FlowRepository, StartRequest,
};
use peregrine_ports::triggers::{TriggerKey, TriggerState, TriggerStore};
use peregrine_webserver::WebserverOptions;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

/// Commands that know no execution (the trigger routes send none).
struct NoCommands;

fn refused<T: Send + 'static>() -> BoxFuture<'static, Result<T, Error>> {
    Box::pin(async { Err(Error::Invalid("no commands here".into())) })
}

impl ExecutionCommands for NoCommands {
    fn start(&self, _: StartRequest) -> BoxFuture<'_, Result<Execution, Error>> {
        refused()
    }
    fn kill(&self, _: &str) -> BoxFuture<'_, Result<(), Error>> {
        refused()
    }
    fn resume(&self, _: &str, _: Option<Map<String, Value>>) -> BoxFuture<'_, Result<(), Error>> {
        refused()
    }
    fn follow(&self, _: &str) -> BoxFuture<'_, Result<ExecutionUpdates, Error>> {
        refused()
    }
}

fn flow(namespace: &str, id: &str, triggers: &[&str]) -> String {
    let mut source = format!(
        "id: {id}\nnamespace: {namespace}\ntasks:\n  - id: noop\n    type: \
         io.kestra.plugin.core.debug.Return\n    format: x\n"
    );
    if !triggers.is_empty() {
        source.push_str("triggers:\n");
        for trigger in triggers {
            source.push_str(&format!(
                "  - id: {trigger}\n    type: io.kestra.plugin.core.trigger.Schedule\n    \
                 cron: \"0 * * * *\"\n    recoverMissedSchedules: NONE\n"
            ));
        }
    }
    source
}

fn instant(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).expect("an instant")
}

/// The flows and states of every test:
/// - company.team.daily: triggers `hourly` (locked by execution `e1`) and `other`;
/// - company.team.sub.nightly: `hourly`, disabled;
/// - company.gone: its flow was deleted; company.bare: its flow has no triggers any more.
struct Fixture {
    router: axum::Router,
    triggers: Arc<MemoryTriggers>,
}

async fn fixture() -> Fixture {
    let flows = Arc::new(MemoryFlows::new());
    let saved = [
        ("company.team", "daily", vec!["hourly", "other"]),
        ("company.team.sub", "nightly", vec!["hourly"]),
        ("company.gone", "deleted", vec!["hourly"]),
        ("company.bare", "bare", vec![]),
    ];
    for (namespace, id, triggers) in saved {
        flows
            .save(namespace, id, flow(namespace, id, &triggers), instant(0))
            .await
            .expect("saved");
    }
    flows
        .delete("company.gone", "deleted", instant(1))
        .await
        .expect("deleted");
    let triggers = Arc::new(MemoryTriggers::new());
    let states = [
        ("company.team", "daily", "hourly", Some("e1"), false),
        ("company.team", "daily", "other", None, false),
        ("company.team.sub", "nightly", "hourly", None, true),
        ("company.gone", "deleted", "hourly", None, false),
        ("company.bare", "bare", "hourly", None, false),
    ];
    for (index, (namespace, flow_id, trigger_id, execution, disabled)) in
        states.into_iter().enumerate()
    {
        let mut state =
            TriggerState::new(TriggerKey::new(namespace, flow_id, trigger_id), instant(10));
        state.next_execution_date = (!disabled).then(|| instant(3_600 + index as i64));
        state.execution_id = execution.map(str::to_string);
        state.disabled = disabled;
        triggers.put(state, None).await.expect("stored");
    }
    let router = WebserverOptions {
        flows,
        executions: Arc::new(MemoryExecutions::new()),
        logs: Arc::new(MemoryExecutions::new()),
        commands: Arc::new(NoCommands),
        kv: Arc::new(peregrine_ports::kv::StorageKv::new(Arc::new(
            MemoryStorage::new(),
        ))),
        storage: Arc::new(MemoryStorage::new()),
        triggers: triggers.clone(),
        registry: Arc::new(peregrine_model::core_registry()),
        expressions: None,
        metrics: None,
    }
    .build()
    .router();
    Fixture { router, triggers }
}

impl Fixture {
    async fn call(&self, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("a valid request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    async fn state(&self, namespace: &str, flow_id: &str, trigger_id: &str) -> TriggerState {
        self.triggers
            .get(&TriggerKey::new(namespace, flow_id, trigger_id))
            .await
            .expect("readable")
            .expect("a state")
    }
}

/// `namespace.flowId.triggerId` of each result, and the total.
fn keys(page: &Value) -> (Vec<String>, u64) {
    let results = page["results"].as_array().expect("results");
    let keys = results
        .iter()
        .map(|result| {
            let state = if result["triggerContext"].is_object() {
                &result["triggerContext"]
            } else {
                result
            };
            format!(
                "{}.{}.{}",
                state["namespace"].as_str().unwrap_or_default(),
                state["flowId"].as_str().unwrap_or_default(),
                state["triggerId"].as_str().unwrap_or_default()
            )
        })
        .collect();
    (keys, page["total"].as_u64().expect("a total"))
}

#[tokio::test]
async fn search_pages_filters_and_shows_each_trigger_as_defined() {
    let fixture = fixture().await;
    let (status, page) = fixture
        .call("GET", "/api/v1/triggers/search", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // The state of the flow without triggers is left out; the deleted flow's is kept.
    assert_eq!(
        keys(&page),
        (
            vec![
                "company.gone.deleted.hourly".to_string(),
                "company.team.daily.hourly".into(),
                "company.team.daily.other".into(),
                "company.team.sub.nightly.hourly".into(),
            ],
            4
        )
    );
    let results = page["results"].as_array().expect("results");
    assert_eq!(
        results[0]["abstractTrigger"],
        Value::Null,
        "its flow is gone"
    );
    assert_eq!(
        results[1]["abstractTrigger"],
        json!({
            "id": "hourly",
            "type": "io.kestra.plugin.core.trigger.Schedule",
            "cron": "0 * * * *",
            "recoverMissedSchedules": "NONE"
        })
    );
    let context = &results[1]["triggerContext"];
    assert_eq!(context["executionId"], "e1");
    assert_eq!(context["disabled"], false);
    assert!(context["nextExecutionDate"].is_string());
    assert!(context["date"].is_string() && context["updatedDate"].is_string());
    assert!(
        results[3]["triggerContext"]
            .get("nextExecutionDate")
            .is_none(),
        "nulls are omitted"
    );

    let cases = [
        ("page=2&size=3", vec!["company.team.sub.nightly.hourly"], 4),
        (
            "namespace=company.team",
            vec![
                "company.team.daily.hourly",
                "company.team.daily.other",
                "company.team.sub.nightly.hourly",
            ],
            3,
        ),
        ("q=NIGHT", vec!["company.team.sub.nightly.hourly"], 1),
        ("q=other", vec!["company.team.daily.other"], 1),
        (
            "flowId=daily&sort=triggerId:desc",
            vec!["company.team.daily.other", "company.team.daily.hourly"],
            2,
        ),
        ("namespace=company.team.s", vec![], 0),
    ];
    for (query, expected, total) in cases {
        let (status, page) = fixture
            .call(
                "GET",
                &format!("/api/v1/triggers/search?{query}"),
                Value::Null,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        let expected: Vec<String> = expected.into_iter().map(str::to_string).collect();
        assert_eq!(keys(&page), (expected, total), "{query}");
    }
    let (status, _) = fixture
        .call("GET", "/api/v1/triggers/search?sort=cron:asc", Value::Null)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_states_of_one_flow() {
    let fixture = fixture().await;
    let (status, page) = fixture
        .call("GET", "/api/v1/triggers/company.team/daily", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        keys(&page),
        (
            vec![
                "company.team.daily.hourly".to_string(),
                "company.team.daily.other".into()
            ],
            2
        )
    );
    assert!(page["results"][0]["executionId"].is_string(), "{page}");
    let (_, page) = fixture
        .call(
            "GET",
            "/api/v1/triggers/company.team/daily?q=oth&size=1",
            Value::Null,
        )
        .await;
    assert_eq!(
        keys(&page),
        (vec!["company.team.daily.other".to_string()], 1)
    );
    // Not the flows of the same id below the namespace.
    let (_, page) = fixture
        .call("GET", "/api/v1/triggers/company/nightly", Value::Null)
        .await;
    assert_eq!(keys(&page), (vec![], 0));
}

#[tokio::test]
async fn put_disables_and_enables_a_trigger_of_a_flow() {
    let fixture = fixture().await;
    let body = |disabled: bool| {
        json!({
            "namespace": "company.team", "flowId": "daily", "triggerId": "other",
            "date": "2024-01-01T00:00:00Z", "disabled": disabled
        })
    };
    let before = fixture.state("company.team", "daily", "other").await;
    let (status, stored) = fixture.call("PUT", "/api/v1/triggers", body(true)).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["disabled"], true);
    assert!(stored.get("nextExecutionDate").is_none(), "{stored}");
    let disabled = fixture.state("company.team", "daily", "other").await;
    assert!(disabled.disabled && disabled.next_execution_date.is_none());
    assert!(disabled.updated_date > before.updated_date);

    // Again: nothing to change, nothing written.
    let (status, _) = fixture.call("PUT", "/api/v1/triggers", body(true)).await;
    assert_eq!(status, StatusCode::OK);
    let again = fixture.state("company.team", "daily", "other").await;
    assert_eq!(again.revision, disabled.revision);

    let (status, stored) = fixture.call("PUT", "/api/v1/triggers", body(false)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["disabled"], false);
    let enabled = fixture.state("company.team", "daily", "other").await;
    assert!(!enabled.disabled);
    assert_eq!(
        enabled.next_execution_date, None,
        "the scheduler computes the next slot again"
    );

    let missing = [
        (
            json!({"namespace": "company.team", "flowId": "nope", "triggerId": "other"}),
            "Flow of trigger other not found",
        ),
        (
            json!({"namespace": "company.gone", "flowId": "deleted", "triggerId": "hourly"}),
            "Flow of trigger hourly not found",
        ),
        (
            json!({"namespace": "company.team", "flowId": "daily", "triggerId": "nope"}),
            "Flow daily has no trigger nope",
        ),
    ];
    for (body, message) in missing {
        let (status, error) = fixture.call("PUT", "/api/v1/triggers", body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error["message"], message);
    }
    let (status, _) = fixture
        .call(
            "PUT",
            "/api/v1/triggers",
            json!({"namespace": "company.team"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn unlock_forgets_the_execution_a_trigger_waits_for() {
    let fixture = fixture().await;
    let path = |flow: &str, trigger: &str| {
        format!("/api/v1/triggers/company.team/{flow}/{trigger}/unlock")
    };
    let (status, stored) = fixture
        .call("POST", &path("daily", "hourly"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert!(stored.get("executionId").is_none());
    let state = fixture.state("company.team", "daily", "hourly").await;
    assert_eq!(state.execution_id, None);
    assert!(state.next_execution_date.is_some(), "the next slot is kept");

    let (status, error) = fixture
        .call("POST", &path("daily", "hourly"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["message"], "Trigger is not locked");
    let (status, _) = fixture
        .call("POST", &path("daily", "nope"), Value::Null)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Locks a trigger again, as a firing does.
async fn lock(fixture: &Fixture, namespace: &str, flow_id: &str, trigger_id: &str) {
    let state = fixture.state(namespace, flow_id, trigger_id).await;
    let revision = state.revision;
    let locked = TriggerState {
        execution_id: Some(format!("run-{trigger_id}")),
        ..state
    };
    fixture
        .triggers
        .put(locked, Some(revision))
        .await
        .expect("written")
        .expect("not raced");
}

#[tokio::test]
async fn bulk_unlock_counts_the_triggers_unlocked() {
    let fixture = fixture().await;
    lock(&fixture, "company.team.sub", "nightly", "hourly").await;
    let trigger = |namespace: &str, flow: &str, trigger: &str| json!({"namespace": namespace, "flowId": flow, "triggerId": trigger});
    let body = json!([
        trigger("company.team", "daily", "hourly"),
        trigger("company.team", "daily", "other"),
        trigger("company.team", "daily", "nope"),
    ]);
    let (status, answer) = fixture
        .call("POST", "/api/v1/triggers/unlock/by-triggers", body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"count": 1}),
        "not locked and unknown left out"
    );

    lock(&fixture, "company.team", "daily", "other").await;
    lock(&fixture, "company.bare", "bare", "hourly").await;
    let (status, answer) = fixture
        .call(
            "POST",
            "/api/v1/triggers/unlock/by-query?namespace=company.team&q=HOURLY",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"count": 1}), "only the sub flow's: {answer}");
    assert_eq!(
        fixture
            .state("company.team.sub", "nightly", "hourly")
            .await
            .execution_id,
        None
    );
    assert!(
        fixture
            .state("company.team", "daily", "other")
            .await
            .execution_id
            .is_some()
    );
    let (_, answer) = fixture
        .call("POST", "/api/v1/triggers/unlock/by-query", Value::Null)
        .await;
    assert_eq!(answer, json!({"count": 2}));

    let (status, _) = fixture
        .call(
            "POST",
            "/api/v1/triggers/unlock/by-triggers",
            json!({"a": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bulk_set_disabled_by_triggers_and_by_query() {
    let fixture = fixture().await;
    let body = json!({
        "triggers": [
            {"namespace": "company.team", "flowId": "daily", "triggerId": "hourly"},
            {"namespace": "company.team", "flowId": "daily", "triggerId": "nope"},
        ],
        "disabled": true
    });
    let (status, answer) = fixture
        .call("POST", "/api/v1/triggers/set-disabled/by-triggers", body)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({"count": 1}));
    let state = fixture.state("company.team", "daily", "hourly").await;
    assert!(state.disabled && state.next_execution_date.is_none());

    // Disabled by default.
    let (_, answer) = fixture
        .call(
            "POST",
            "/api/v1/triggers/set-disabled/by-query?namespace=company.team&q=daily",
            Value::Null,
        )
        .await;
    assert_eq!(answer, json!({"count": 2}));
    assert!(
        fixture
            .state("company.team", "daily", "other")
            .await
            .disabled
    );
    assert!(
        !fixture
            .state("company.bare", "bare", "hourly")
            .await
            .disabled
    );

    let (_, answer) = fixture
        .call(
            "POST",
            "/api/v1/triggers/set-disabled/by-query?namespace=company&disabled=false",
            Value::Null,
        )
        .await;
    assert_eq!(answer, json!({"count": 5}));
    for (namespace, flow, trigger) in [
        ("company.team", "daily", "hourly"),
        ("company.team", "daily", "other"),
        ("company.team.sub", "nightly", "hourly"),
    ] {
        let state = fixture.state(namespace, flow, trigger).await;
        assert!(!state.disabled, "{namespace}.{flow}.{trigger}");
    }
    let (status, _) = fixture
        .call(
            "POST",
            "/api/v1/triggers/set-disabled/by-query?disabled=maybe",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn restart_forgets_the_execution_and_the_next_slot() {
    let fixture = fixture().await;
    let (status, stored) = fixture
        .call(
            "POST",
            "/api/v1/triggers/company.team/daily/hourly/restart",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["triggerId"], "hourly");
    let state = fixture.state("company.team", "daily", "hourly").await;
    assert_eq!(state.execution_id, None);
    assert_eq!(state.next_execution_date, None);
    let (status, _) = fixture
        .call(
            "POST",
            "/api/v1/triggers/company.team/daily/nope/restart",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
