//! trigger.Toggle over the scheduler's trigger states: enables and disables a stored trigger of
//! the current flow or of another one, and fails for a trigger that has no state.

mod support;

use std::sync::Arc;

use jiff::Timestamp;
use peregrine_plugin_api::TaskServices;
use peregrine_ports::memory::MemoryTriggers;
use peregrine_ports::triggers::{TriggerKey, TriggerState, TriggerStore};
use serde_json::json;

async fn services_with(key: &TriggerKey, disabled: bool) -> TaskServices {
    let triggers = Arc::new(MemoryTriggers::new());
    let state = TriggerState {
        disabled,
        next_execution_date: Some(Timestamp::from_second(1_700_000_060).expect("valid")),
        ..TriggerState::new(key.clone(), Timestamp::UNIX_EPOCH)
    };
    triggers
        .put(state, None)
        .await
        .expect("answers")
        .expect("stored");
    TaskServices {
        triggers,
        ..TaskServices::in_memory()
    }
}

async fn stored(services: &TaskServices, key: &TriggerKey) -> TriggerState {
    services
        .triggers
        .get(key)
        .await
        .expect("read")
        .expect("stored")
}

#[tokio::test]
async fn enables_a_disabled_trigger_of_the_current_flow() {
    let key = TriggerKey::new("company.team", "my_flow", "schedule");
    let services = services_with(&key, true).await;
    let task = json!({"id": "t", "type": "trigger.Toggle", "trigger": "schedule", "enabled": true});
    support::run(&services, task).await.expect("toggles");
    let state = stored(&services, &key).await;
    assert!(!state.disabled);
    assert_eq!(
        state.next_execution_date, None,
        "computed again by the scheduler"
    );
    assert_eq!(state.revision, 2);
}

#[tokio::test]
async fn disables_by_default_a_trigger_of_another_flow() {
    let key = TriggerKey::new("company.other", "nightly", "every_day");
    let services = services_with(&key, false).await;
    let task = json!({
        "id": "t", "type": "trigger.Toggle", "namespace": "company.other",
        "flowId": "{{ 'nightly' }}", "trigger": "every_day",
    });
    support::run(&services, task).await.expect("toggles");
    assert!(stored(&services, &key).await.disabled);
}

#[tokio::test]
async fn a_trigger_without_state_is_an_error() {
    let key = TriggerKey::new("company.team", "my_flow", "schedule");
    let services = services_with(&key, true).await;
    let task = json!({"id": "t", "type": "trigger.Toggle", "trigger": "missing", "enabled": true});
    let error = support::run(&services, task)
        .await
        .expect_err("no such trigger");
    assert!(
        error.to_string().contains("Unable to find trigger missing"),
        "{error}"
    );
}
