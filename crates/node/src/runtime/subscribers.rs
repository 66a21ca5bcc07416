//! Subscriptions, for the API server: follow an execution version by version, and hooks on
//! every committed change (metrics).

use std::collections::HashMap;
use std::sync::Arc;

use peregrine_model::execution::Execution;
use tokio::sync::broadcast;

use super::LocalRuntime;

/// Called with every committed version of every execution, under the runtime's lock: it must be
/// quick and must not call back into the runtime.
pub type ExecutionHook = Arc<dyn Fn(&Execution) + Send + Sync>;

/// How many versions a follower may fall behind before it skips to newer ones.
const FOLLOW_BUFFER: usize = 256;

#[derive(Default)]
pub(super) struct Subscribers {
    followers: HashMap<String, broadcast::Sender<Execution>>,
    hooks: Vec<ExecutionHook>,
}

impl Subscribers {
    /// Tells hooks and followers of the execution's new version (dropping the followers' sender
    /// once it has ended, which closes their receivers).
    pub(super) fn notify(&mut self, execution: &Execution) {
        for hook in &self.hooks {
            hook(execution);
        }
        if let Some(sender) = self.followers.get(&execution.id) {
            if sender.receiver_count() > 0 {
                let _ = sender.send(execution.clone());
            }
            if execution.state.is_terminated() || sender.receiver_count() == 0 {
                self.followers.remove(&execution.id);
            }
        }
    }

    /// Tells the hooks only (a new execution, counted before its first commit).
    pub(super) fn notify_hooks(&self, execution: &Execution) {
        for hook in &self.hooks {
            hook(execution);
        }
    }

    pub(super) fn forget(&mut self, execution_id: &str) {
        self.followers.remove(execution_id);
    }
}

impl LocalRuntime {
    /// The execution as it is now, and a receiver of every later version, closed after the
    /// terminal one (closed at once when it has already ended). A receiver more than 256
    /// versions behind skips to newer ones (`RecvError::Lagged`).
    pub fn follow(
        &self,
        execution_id: &str,
    ) -> Option<(Execution, broadcast::Receiver<Execution>)> {
        let mut shared = self.shared.lock().ok()?;
        let watched = shared.watchers.get(execution_id)?.borrow().clone();
        let current = match shared.executor.execution(execution_id) {
            Some(execution) => execution.clone(),
            None => watched,
        };
        let receiver = if current.state.is_terminated() {
            broadcast::channel(1).1
        } else {
            shared
                .subscribers
                .followers
                .entry(execution_id.to_string())
                .or_insert_with(|| broadcast::channel(FOLLOW_BUFFER).0)
                .subscribe()
        };
        Some((current, receiver))
    }

    /// Calls `hook` with every committed version of every execution from now on.
    pub fn on_change(&self, hook: ExecutionHook) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.subscribers.hooks.push(hook);
        }
    }
}
