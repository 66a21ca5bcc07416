//! Executions read from the runtime's store; deleting one also makes the runtime forget it.

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{
    Error, ExecutionQuery, ExecutionRepository, Page, PurgeQuery, PurgedExecution,
};

use crate::runtime::LocalRuntime;

pub struct RuntimeExecutions {
    runtime: LocalRuntime,
}

impl RuntimeExecutions {
    pub fn new(runtime: LocalRuntime) -> Self {
        Self { runtime }
    }
}

impl ExecutionRepository for RuntimeExecutions {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        let id = id.to_string();
        Box::pin(async move { self.runtime.store().get(&id).await })
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        let query = query.clone();
        Box::pin(async move { self.runtime.store().search(&query).await })
    }

    /// Refuses executions that have not ended (kill them first).
    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let id = id.to_string();
        Box::pin(async move {
            let store = self.runtime.store();
            match store.get(&id).await? {
                None => Ok(false),
                Some(execution) if !execution.state.is_terminated() => {
                    Err(Error::Conflict(format!(
                        "execution '{id}' is {}: kill it before deleting it",
                        super::state_name(execution.state.current)
                    )))
                }
                Some(_) => {
                    self.runtime.forget(&id);
                    store.delete(&id).await
                }
            }
        })
    }

    /// Purges from the store, then makes the runtime forget every execution purged.
    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        let query = query.clone();
        Box::pin(async move {
            let store = self.runtime.store();
            let purged = ExecutionRepository::purge(&*store, &query, limit, logs).await?;
            for execution in &purged {
                self.runtime.forget(&execution.id);
            }
            Ok(purged)
        })
    }
}

/// Executions read from the shared database, for a webserver of its own; deleting or purging
/// one also tells the executor to forget it.
pub struct StoreExecutions {
    store: std::sync::Arc<dyn peregrine_ports::store::ExecutionBackend>,
}

impl StoreExecutions {
    pub fn new(store: std::sync::Arc<dyn peregrine_ports::store::ExecutionBackend>) -> Self {
        Self { store }
    }

    async fn forget(&self, id: &str) {
        let command = crate::runtime::RowCommand::Forget;
        if let Err(error) = crate::command_rows::put(self.store.as_ref(), id, &command).await {
            eprintln!("webserver: cannot tell the executor to forget execution {id}: {error}");
        }
    }
}

impl ExecutionRepository for StoreExecutions {
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
                    let deleted = self.store.delete(&id).await?;
                    self.forget(&id).await;
                    Ok(deleted)
                }
            }
        })
    }

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
