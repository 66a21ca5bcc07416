//! In-process wake-ups for [`OutboxQueue::wait`](crate::queue::OutboxQueue::wait): one
//! [`Notify`] per key prefix, woken by the commits and kills of this process.
//!
//! A wake-up that arrives while nobody waits is kept (one permit per prefix) and ends the next
//! wait at once, so a caller that claims, then waits, misses nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

/// The prefix of an outbox key: the text up to and including its first `:` (`job:`,
/// `result:`); `None` for a key without `:`, which wakes nobody.
pub fn key_prefix(key: &str) -> Option<&str> {
    key.find(':').map(|colon| &key[..=colon])
}

/// The distinct prefixes of `keys` (rows put), each once, in order.
pub fn key_prefixes<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut prefixes: Vec<&str> = keys.into_iter().filter_map(key_prefix).collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    prefixes
}

/// One wake-up per prefix. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Wakeups {
    prefixes: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Wakeups {
    pub fn new() -> Self {
        Self::default()
    }

    /// The map stays consistent whatever a panicking holder did: it only ever gains entries.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.prefixes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify_of(&self, prefix: &str) -> Arc<Notify> {
        let mut prefixes = self.lock();
        match prefixes.get(prefix) {
            Some(notify) => Arc::clone(notify),
            None => {
                let notify = Arc::new(Notify::new());
                prefixes.insert(prefix.to_string(), Arc::clone(&notify));
                notify
            }
        }
    }

    /// Wakes the waiter of `prefix`, or keeps the wake-up for its next wait.
    pub fn notify(&self, prefix: &str) {
        self.notify_of(prefix).notify_one();
    }

    /// Wakes the waiters of the prefixes of `keys` (rows just put), each once.
    pub fn notify_keys<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        for prefix in key_prefixes(keys) {
            self.notify(prefix);
        }
    }

    /// Returns `true` once `prefix` is woken (at once when a wake-up was kept), `false` after
    /// `timeout` without one.
    pub async fn wait(&self, prefix: &str, timeout: Duration) -> bool {
        let notify = self.notify_of(prefix);
        tokio::time::timeout(timeout, notify.notified())
            .await
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_ends_at_the_first_colon() {
        assert_eq!(key_prefix("job:a:b"), Some("job:"));
        assert_eq!(key_prefix(":x"), Some(":"));
        assert_eq!(key_prefix("ended"), None);
    }

    #[tokio::test]
    async fn a_wake_up_without_a_waiter_is_kept_once() {
        let wakeups = Wakeups::new();
        wakeups.notify_keys(["job:a", "job:b", "ended"]);
        assert!(wakeups.wait("job:", Duration::from_secs(5)).await);
        assert!(!wakeups.wait("job:", Duration::from_millis(10)).await);
        assert!(!wakeups.wait("result:", Duration::from_millis(10)).await);
    }
}
