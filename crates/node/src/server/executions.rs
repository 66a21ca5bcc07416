//! Executions read from the store; deleting or purging one also makes the executor forget it:
//! the runtime of this process, or, for a webserver of its own, the executor told through a
//! `command:` row.

use std::sync::Arc;

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{
    Error, ExecutionQuery, ExecutionRepository, Page, PurgeQuery, PurgedExecution,
};
use peregrine_ports::store::ExecutionBackend;

use crate::runtime::LocalRuntime;

pub struct RuntimeExecutions {
    store: Arc<dyn ExecutionBackend>,
    /// The runtime holding the executions in memory; none when the executor is another
    /// process's (told by a row of the shared store).
    runtime: Option<LocalRuntime>,
}

impl RuntimeExecutions {
    /// The executions of the runtime of this process.
    pub fn new(runtime: LocalRuntime) -> Self {
        Self {
            store: runtime.store(),
            runtime: Some(runtime),
        }
    }

    /// The executions of a database executors of other processes share.
    pub fn shared(store: Arc<dyn ExecutionBackend>) -> Self {
        Self {
            store,
            runtime: None,
        }
    }

    async fn forget(&self, id: &str) {
        match &self.runtime {
            Some(runtime) => {
                runtime.forget(id);
            }
            None => {
                let command = crate::runtime::RowCommand::Forget;
                if let Err(error) =
                    crate::command_rows::put(self.store.as_ref(), id, &command).await
                {
                    eprintln!(
                        "webserver: cannot tell the executor to forget execution {id}: {error}"
                    );
                }
            }
        }
    }
}

impl ExecutionRepository for RuntimeExecutions {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        self.store.get(id)
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        self.store.search(query)
    }

    /// Refuses executions that have not ended (kill them first).
    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let id = id.to_string();
        Box::pin(async move {
            match self.store.get(&id).await? {
                None => Ok(false),
                Some(execution) if !execution.state.is_terminated() => {
                    Err(Error::Conflict(format!(
                        "execution '{id}' is {}: kill it before deleting it",
                        super::state_name(execution.state.current)
                    )))
                }
                Some(_) => {
                    self.forget(&id).await;
                    self.store.delete(&id).await
                }
            }
        })
    }

    /// Purges from the store, then makes the executor forget every execution purged.
    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        let query = query.clone();
        Box::pin(async move {
            let purged = ExecutionRepository::purge(&*self.store, &query, limit, logs).await?;
            for execution in &purged {
                self.forget(&execution.id).await;
            }
            Ok(purged)
        })
    }
}
