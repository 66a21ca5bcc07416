//! Commands that make history: replay (a new execution from an old one; from a task run, only of
//! an ended execution) and new labels on an ended execution. Both are carried out by the
//! runtime, which answers once they are committed.

use peregrine_model::execution::Execution;
use peregrine_model::flow::Label;
use peregrine_ports::repository::{Error, FlowRepository};

use super::RuntimeCommands;
use crate::runtime::RuntimeError;

impl RuntimeCommands {
    /// The execution, whether still listed or only stored.
    async fn existing(&self, execution_id: &str) -> Result<Execution, Error> {
        match self.runtime.listed(execution_id) {
            Some(execution) => Ok(execution),
            None => self
                .runtime
                .store()
                .get(execution_id)
                .await?
                .ok_or_else(|| Error::NotFound {
                    what: "execution",
                    id: execution_id.to_string(),
                }),
        }
    }

    /// The execution, whether still listed or only stored, once it has ended.
    async fn ended(&self, execution_id: &str, what: &str) -> Result<Execution, Error> {
        let execution = self.existing(execution_id).await?;
        super::checks::ended(&execution, what)?;
        Ok(execution)
    }

    pub(super) async fn replay_now(
        &self,
        execution_id: &str,
        task_run_id: Option<String>,
        revision: Option<u32>,
    ) -> Result<Execution, Error> {
        // From the start, a replay is a new execution with the same inputs, whatever the old one
        // is doing (as Kestra does); from a task run it copies the task runs, which must have
        // ended.
        let execution = match task_run_id {
            None => self.existing(execution_id).await?,
            Some(_) => {
                self.ended(execution_id, "be replayed from a task run")
                    .await?
            }
        };
        let (namespace, flow_id) = (&execution.namespace, &execution.flow_id);
        if let Some(revision) = revision {
            let flows: &dyn FlowRepository = self.flows.as_ref();
            super::checks::revision_exists(flows, namespace, flow_id, revision).await?;
        }
        self.runtime
            .replay_execution(execution_id, task_run_id.as_deref(), revision)
            .await
            .map_err(port_error)
    }

    pub(super) async fn set_labels_now(
        &self,
        execution_id: &str,
        labels: Vec<Label>,
    ) -> Result<Execution, Error> {
        self.ended(execution_id, "have its labels set").await?;
        self.runtime
            .set_labels(execution_id, labels)
            .await
            .map_err(port_error)
    }
}

fn port_error(error: RuntimeError) -> Error {
    match error {
        RuntimeError::UnknownFlow(id) => Error::NotFound { what: "flow", id },
        RuntimeError::UnknownExecution(id) => Error::NotFound {
            what: "execution",
            id,
        },
        RuntimeError::Replay(_) | RuntimeError::Inputs(_) => Error::Invalid(error.to_string()),
        RuntimeError::Store(error) => error,
        other => Error::Backend(other.to_string()),
    }
}
