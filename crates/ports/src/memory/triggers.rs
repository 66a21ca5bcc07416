//! Trigger states in memory.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::future::BoxFuture;
use crate::repository::Error;
use crate::triggers::{TriggerKey, TriggerQuery, TriggerState, TriggerStore};

/// Trigger states by key, so listed in key order.
#[derive(Debug, Default)]
pub struct MemoryTriggers {
    states: Mutex<BTreeMap<TriggerKey, TriggerState>>,
}

impl MemoryTriggers {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, BTreeMap<TriggerKey, TriggerState>>, Error> {
        self.states
            .lock()
            .map_err(|_| Error::Backend("the trigger store is poisoned".into()))
    }

    fn put_now(
        &self,
        mut state: TriggerState,
        expected: Option<u64>,
    ) -> Result<Option<TriggerState>, Error> {
        let mut states = self.lock()?;
        let stored = states.get(&state.key).map(|stored| stored.revision);
        if stored != expected {
            return Ok(None);
        }
        state.revision = expected.unwrap_or_default() + 1;
        states.insert(state.key.clone(), state.clone());
        Ok(Some(state))
    }
}

impl TriggerStore for MemoryTriggers {
    fn get(&self, key: &TriggerKey) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        let result = self.lock().map(|states| states.get(key).cloned());
        Box::pin(async move { result })
    }

    fn list(&self, query: &TriggerQuery) -> BoxFuture<'_, Result<Vec<TriggerState>, Error>> {
        let result = self.lock().map(|states| {
            states
                .values()
                .filter(|state| query.matches(&state.key))
                .cloned()
                .collect()
        });
        Box::pin(async move { result })
    }

    fn put(
        &self,
        state: TriggerState,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        let result = self.put_now(state, expected);
        Box::pin(async move { result })
    }

    fn delete(&self, key: &TriggerKey) -> BoxFuture<'_, Result<bool, Error>> {
        let result = self.lock().map(|mut states| states.remove(key).is_some());
        Box::pin(async move { result })
    }
}
