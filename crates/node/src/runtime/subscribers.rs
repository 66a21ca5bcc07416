//! Subscriptions, for the API server: follow an execution version by version, and hooks on
//! every committed change (metrics).

use std::collections::HashMap;
use std::sync::Arc;

use peregrine_model::execution::Execution;
use std::time::{Duration, Instant};

use peregrine_model::state::State;
use tokio::sync::broadcast;

use super::LocalRuntime;

/// Called with every committed version of every execution, under the runtime's lock: it must be
/// quick and must not call back into the runtime.
pub type ExecutionHook = Arc<dyn Fn(&Execution) + Send + Sync>;

/// How many versions a follower may fall behind before it skips to newer ones.
const FOLLOW_BUFFER: usize = 256;

/// Above this many task runs, followers get a new version at most every `FOLLOW_PERIOD` (and
/// at once when the execution's state moves or it ends), so following a big execution does not
/// copy it at every step.
const FOLLOW_LARGE: usize = 200;
const FOLLOW_PERIOD: Duration = Duration::from_millis(100);

struct Follower {
    sender: broadcast::Sender<Execution>,
    /// When the last version was sent, and its state.
    sent: Option<(Instant, State)>,
}

impl Follower {
    fn due(&self, execution: &Execution) -> bool {
        let Some((at, state)) = self.sent else {
            return true;
        };
        execution.task_run_list.len() <= FOLLOW_LARGE
            || execution.state.is_terminated()
            || execution.state.current != state
            || at.elapsed() >= FOLLOW_PERIOD
    }
}

#[derive(Default)]
pub(super) struct Subscribers {
    followers: HashMap<String, Follower>,
    hooks: Vec<ExecutionHook>,
}

impl Subscribers {
    /// Tells hooks and followers of the execution's new version (dropping the followers' sender
    /// once it has ended, which closes their receivers).
    pub(super) fn notify(&mut self, execution: &Execution) {
        for hook in &self.hooks {
            hook(execution);
        }
        let ended = execution.state.is_terminated();
        if let Some(follower) = self.followers.get_mut(&execution.id) {
            if follower.sender.receiver_count() > 0 && follower.due(execution) {
                let _ = follower.sender.send(execution.clone());
                follower.sent = Some((Instant::now(), execution.state.current));
            }
            if ended || follower.sender.receiver_count() == 0 {
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

    /// Stops following every execution `keep` refuses.
    pub(super) fn retain(&mut self, keep: &dyn Fn(&str) -> bool) {
        self.followers.retain(|id, _| keep(id));
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
                .or_insert_with(|| Follower {
                    sender: broadcast::channel(FOLLOW_BUFFER).0,
                    sent: None,
                })
                .sender
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
