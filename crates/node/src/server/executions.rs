//! Executions read from the runtime: the latest version of each one it still lists.

use std::cmp::Reverse;

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, ExecutionQuery, ExecutionRepository, Page};

use crate::runtime::LocalRuntime;
use crate::server::flows::in_namespace;

pub struct RuntimeExecutions {
    runtime: LocalRuntime,
}

impl RuntimeExecutions {
    pub fn new(runtime: LocalRuntime) -> Self {
        Self { runtime }
    }

    fn matches(query: &ExecutionQuery, execution: &Execution) -> bool {
        query
            .namespace
            .as_deref()
            .is_none_or(|filter| in_namespace(&execution.namespace, filter))
            && query
                .flow_id
                .as_deref()
                .is_none_or(|flow_id| execution.flow_id == flow_id)
            && (query.states.is_empty() || query.states.contains(&execution.state.current))
    }
}

impl ExecutionRepository for RuntimeExecutions {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        let found = self.runtime.listed(id);
        Box::pin(async move { Ok(found) })
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        let mut found: Vec<Execution> = self
            .runtime
            .executions()
            .into_iter()
            .filter(|execution| Self::matches(query, execution))
            .collect();
        found.sort_by_key(|execution| (Reverse(execution.state.started()), execution.id.clone()));
        let total = found.len();
        let size = query.size.max(1);
        let results = found
            .into_iter()
            .skip(query.page.saturating_sub(1).saturating_mul(size))
            .take(size)
            .collect();
        Box::pin(async move { Ok(Page { results, total }) })
    }

    /// Refuses executions that have not ended (kill them first).
    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let result = match self.runtime.listed(id) {
            None => Ok(false),
            Some(execution) if !execution.state.is_terminated() => Err(Error::Conflict(format!(
                "execution '{id}' is {}: kill it before deleting it",
                super::state_name(execution.state.current)
            ))),
            Some(_) => Ok(self.runtime.forget(id)),
        };
        Box::pin(async move { result })
    }
}
