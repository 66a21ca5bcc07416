//! Trigger states Kestra's tests put in place and read back: ToggleTest stores the flow's
//! Schedule trigger as disabled, runs the flow, then expects the trigger enabled again.

use peregrine_model::Flow;
use peregrine_ports::triggers::{TriggerKey, TriggerState, TriggerStore};

use crate::expectations::Entry;

/// What an entry's `requires` says of the trigger state before the run.
const DISABLED: &str = "trigger state pre-stored as disabled";

/// The Schedule trigger an entry needs stored as disabled, if it needs one.
pub fn disabled_before_the_run(entry: &Entry, flow: &Flow) -> Option<TriggerKey> {
    if !entry.requires.iter().any(|r| r.contains(DISABLED)) {
        return None;
    }
    let trigger = flow
        .triggers
        .iter()
        .find(|trigger| trigger.common.type_name.ends_with("trigger.Schedule"))?;
    Some(TriggerKey::new(
        &flow.namespace,
        &flow.id,
        &trigger.common.id,
    ))
}

/// Stores the trigger as disabled, replacing any state it had.
pub async fn seed(triggers: &dyn TriggerStore, key: &TriggerKey) -> Result<(), String> {
    triggers
        .delete(key)
        .await
        .map_err(|error| error.to_string())?;
    let state = TriggerState {
        disabled: true,
        ..TriggerState::new(key.clone(), jiff::Timestamp::now())
    };
    match triggers.put(state, None).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!("trigger {key}: stored meanwhile")),
        Err(error) => Err(error.to_string()),
    }
}

/// The problems with the trigger's state after the run: it must be there and enabled.
pub async fn check_enabled(triggers: &dyn TriggerStore, key: &TriggerKey) -> Vec<String> {
    match triggers.get(key).await {
        Ok(Some(state)) if !state.disabled => Vec::new(),
        Ok(Some(_)) => vec![format!("trigger {key} is still disabled after the run")],
        Ok(None) => vec![format!("trigger {key} has no state after the run")],
        Err(error) => vec![format!("trigger {key}: {error}")],
    }
}
