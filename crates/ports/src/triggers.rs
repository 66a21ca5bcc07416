//! The state the scheduler keeps for each trigger of each flow (Kestra's `Trigger` rows): the
//! last slot it fired, the next one due, whether it is disabled, and the execution it started
//! that is still running.
//!
//! Every change is a conditional write on the state's revision, so two schedulers (two
//! processes on one database) that both see a slot due cannot both claim it: the first write
//! wins, the second finds the revision moved and reads the state again.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::future::BoxFuture;
use crate::repository::Error;

/// Which trigger of which flow.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerKey {
    pub namespace: String,
    pub flow_id: String,
    pub trigger_id: String,
}

impl TriggerKey {
    pub fn new(namespace: &str, flow_id: &str, trigger_id: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            flow_id: flow_id.to_string(),
            trigger_id: trigger_id.to_string(),
        }
    }
}

impl std::fmt::Display for TriggerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.namespace, self.flow_id, self.trigger_id)
    }
}

/// One trigger's state, with Kestra's names in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerState {
    #[serde(flatten)]
    pub key: TriggerKey,
    /// The slot last fired or passed over (Kestra's `date`); when the state was created, for a
    /// trigger that never fired.
    pub date: Timestamp,
    /// The next slot to evaluate; none while disabled, or until the scheduler computes it.
    pub next_execution_date: Option<Timestamp>,
    /// Disabled from outside the flow (the Toggle task, the API): not evaluated.
    pub disabled: bool,
    /// The execution started for the last slot, until it ends: no slot fires meanwhile.
    pub execution_id: Option<String>,
    /// When the state last changed.
    pub updated_date: Timestamp,
    /// Bumped by every write; a conditional write names the revision it read.
    #[serde(skip)]
    pub revision: u64,
}

impl TriggerState {
    /// A state never fired: `date` is `now`, the next slot is still to be computed.
    pub fn new(key: TriggerKey, now: Timestamp) -> Self {
        Self {
            key,
            date: now,
            next_execution_date: None,
            disabled: false,
            execution_id: None,
            updated_date: now,
            revision: 0,
        }
    }
}

/// Which states to list; every field narrows the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TriggerQuery {
    /// This namespace and the namespaces below it.
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
}

impl TriggerQuery {
    pub fn matches(&self, key: &TriggerKey) -> bool {
        let namespace = self.namespace.as_deref().is_none_or(|namespace| {
            key.namespace == namespace
                || key
                    .namespace
                    .strip_prefix(namespace)
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        let flow = self.flow_id.as_deref().is_none_or(|id| key.flow_id == id);
        namespace && flow
    }
}

/// Trigger states, durable in the backends that are. Contract: `put` is atomic; it writes only
/// when its condition holds, and then the state returned is the one stored (revision bumped).
pub trait TriggerStore: Send + Sync {
    fn get(&self, key: &TriggerKey) -> BoxFuture<'_, Result<Option<TriggerState>, Error>>;

    /// Matching states, sorted by namespace, flow and trigger.
    fn list(&self, query: &TriggerQuery) -> BoxFuture<'_, Result<Vec<TriggerState>, Error>>;

    /// Writes `state` when the stored one is still at revision `expected` (`None`: when no state
    /// is stored). Returns the stored state (revision `expected + 1`, or 1 for a new one), or
    /// `None` when the condition failed because another writer got there first. The revision
    /// inside `state` is ignored.
    fn put(
        &self,
        state: TriggerState,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<TriggerState>, Error>>;

    /// Removes a state; returns whether there was one.
    fn delete(&self, key: &TriggerKey) -> BoxFuture<'_, Result<bool, Error>>;
}

/// How many times [`update`] reads again after losing a race before giving up.
const UPDATE_ATTEMPTS: usize = 16;

/// Reads the state of `key`, lets `change` edit it, writes it back conditionally, and starts
/// again when another writer changed it meanwhile. `change` returns false to leave the state as
/// it is. Returns the state as finally stored, `None` when there is none.
pub async fn update(
    store: &dyn TriggerStore,
    key: &TriggerKey,
    change: impl Fn(&mut TriggerState) -> bool + Send,
) -> Result<Option<TriggerState>, Error> {
    for _ in 0..UPDATE_ATTEMPTS {
        let Some(current) = store.get(key).await? else {
            return Ok(None);
        };
        let mut changed = current.clone();
        if !change(&mut changed) {
            return Ok(Some(current));
        }
        if let Some(stored) = store.put(changed, Some(current.revision)).await? {
            return Ok(Some(stored));
        }
    }
    Err(Error::Conflict(format!(
        "the state of trigger {key} changed {UPDATE_ATTEMPTS} times while it was updated"
    )))
}
