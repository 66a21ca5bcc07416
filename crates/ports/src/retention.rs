//! Retention: ended executions deleted with their log lines and internal-storage files, in
//! batches, by whoever asks (the `execution.PurgeExecutions` task, `peregrine sys purge`, the
//! server's retention).

use jiff::Timestamp;

use crate::repository::{
    Error, ExecutionRepository, LogQuery, LogRepository, PurgeQuery, PurgedExecution,
};
use crate::storage::{Storage, StorageContext};
use crate::store::ExecutionBackend;

/// Executions deleted per call to the store.
pub const BATCH: usize = 500;

/// What goes with the executions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PurgeOptions {
    /// Their log lines.
    pub logs: bool,
    /// Their files in internal storage.
    pub storage: bool,
}

/// How much was deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    pub executions: usize,
    pub logs: usize,
    pub files: usize,
}

/// Deletes every ended execution `query` matches, batch by batch, with what `options` names;
/// `forget` hears each batch's ids (so a server drops what it keeps of them in memory).
pub async fn purge_executions(
    executions: &dyn ExecutionRepository,
    logs: &dyn LogRepository,
    storage: &dyn Storage,
    query: &PurgeQuery,
    options: PurgeOptions,
    forget: &(dyn Fn(&[String]) + Send + Sync),
) -> Result<PurgeCounts, Error> {
    let mut counts = PurgeCounts::default();
    loop {
        let purged = executions.purge(query, BATCH, false).await?;
        counts.executions += purged.len();
        let more = purged.len() == BATCH;
        let removed = remove_traces(logs, storage, &purged, options).await?;
        counts.logs += removed.logs;
        counts.files += removed.files;
        let ids: Vec<String> = purged.into_iter().map(|execution| execution.id).collect();
        forget(&ids);
        if !more {
            return Ok(counts);
        }
    }
}

/// What a retention pass deletes: ended executions started before `executions_before` (with
/// their log lines and, unless kept, their files) and log lines written before `logs_before`,
/// in a namespace (and its children) or flow when named.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cutoffs {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// None: no execution goes.
    pub executions_before: Option<Timestamp>,
    /// None: only the lines of the executions that go.
    pub logs_before: Option<Timestamp>,
    pub keep_files: bool,
}

/// One retention pass over a store that serves executions and logs (`peregrine sys purge`, the
/// server's hourly pass).
pub async fn purge_older(
    store: &dyn ExecutionBackend,
    storage: &dyn Storage,
    cutoffs: &Cutoffs,
    forget: &(dyn Fn(&[String]) + Send + Sync),
) -> Result<PurgeCounts, Error> {
    let mut counts = PurgeCounts::default();
    if let Some(before) = cutoffs.executions_before {
        let query = PurgeQuery {
            namespace: cutoffs.namespace.clone(),
            flow_id: cutoffs.flow_id.clone(),
            started_after: None,
            started_before: before,
            states: Vec::new(),
        };
        let options = PurgeOptions {
            logs: true,
            storage: !cutoffs.keep_files,
        };
        counts = purge_executions(store, store, storage, &query, options, forget).await?;
    }
    if let Some(before) = cutoffs.logs_before {
        let query = LogQuery {
            namespace: cutoffs.namespace.clone(),
            flow_id: cutoffs.flow_id.clone(),
            to: Some(before),
            ..LogQuery::default()
        };
        counts.logs += LogRepository::purge(store, &query, Vec::new()).await?;
    }
    Ok(counts)
}

/// Deletes the log lines and files of executions, as `options` names.
pub async fn remove_traces(
    logs: &dyn LogRepository,
    storage: &dyn Storage,
    executions: &[PurgedExecution],
    options: PurgeOptions,
) -> Result<PurgeCounts, Error> {
    let mut counts = PurgeCounts::default();
    for execution in executions {
        if options.logs {
            let lines = LogQuery {
                execution_id: Some(execution.id.clone()),
                ..LogQuery::default()
            };
            counts.logs += logs.purge(&lines, Vec::new()).await?;
        }
        if options.storage {
            let scope =
                StorageContext::new(&execution.namespace, &execution.flow_id, &execution.id);
            let prefix = scope
                .execution_prefix()
                .map_err(|error| Error::Backend(error.to_string()))?;
            counts.files += storage
                .delete_prefix(&prefix)
                .await
                .map_err(|error| Error::Backend(error.to_string()))?
                .len();
        }
    }
    Ok(counts)
}
