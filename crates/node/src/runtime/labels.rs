//! New labels for an ended execution (the API's set labels), applied by the event loop like any
//! other change: the executor stays the only writer, and the change is committed before anyone
//! sees it.

use std::time::{Duration, Instant};

use peregrine_model::execution::Execution;
use peregrine_model::flow::Label;

use super::{LocalRuntime, Message, RuntimeError};

/// How long a caller waits for the change to be committed.
const WAIT: Duration = Duration::from_secs(30);
/// The pause between two reads of the store while waiting.
const POLL: Duration = Duration::from_millis(5);

impl LocalRuntime {
    /// Replaces the labels of an execution (read back from the store when no longer held) and
    /// returns it as committed with them.
    pub async fn set_labels(
        &self,
        execution_id: &str,
        labels: Vec<Label>,
    ) -> Result<Execution, RuntimeError> {
        let message = Message::Labels {
            id: execution_id.to_string(),
            labels: labels.clone(),
            generation: self.partitions.stamp(execution_id),
        };
        let _ = self.sender.send(message);
        // The store, not the executor's memory, tells when the change is durable.
        let deadline = Instant::now() + WAIT;
        loop {
            let stored = self
                .store
                .get(execution_id)
                .await?
                .ok_or_else(|| RuntimeError::UnknownExecution(execution_id.to_string()))?;
            if stored.labels == labels {
                return Ok(stored);
            }
            if Instant::now() >= deadline {
                return Err(RuntimeError::Timeout {
                    id: execution_id.to_string(),
                    timeout: WAIT,
                    state: stored.state.current,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
