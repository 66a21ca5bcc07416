//! Execution logs read from the runtime's in-memory log lines.

use std::sync::Arc;

use peregrine_model::log::LogEntry;
use peregrine_plugin_api::LogSink;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, LogQuery, LogRepository};

use crate::runtime::MemoryLogs;

pub struct RuntimeLogs {
    logs: Arc<MemoryLogs>,
}

impl RuntimeLogs {
    pub fn new(logs: Arc<MemoryLogs>) -> Self {
        Self { logs }
    }
}

impl LogRepository for RuntimeLogs {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>> {
        for entry in entries {
            self.logs.emit(entry);
        }
        Box::pin(async { Ok(()) })
    }

    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>> {
        let found = self.logs.matching(|line| query.matches(line));
        Box::pin(async move { Ok(found) })
    }

    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>> {
        let removed = self.logs.remove_execution(execution_id);
        Box::pin(async move { Ok(removed) })
    }
}
