//! The repositories and the command port the webserver (and the CLI's server mode) use:
//! flows with revisions, executions, logs, and commands sent to executors.

use jiff::Timestamp;
use peregrine_model::execution::Execution;
use peregrine_model::flow::Label;
use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_model::state::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::future::BoxFuture;

/// A failure of a repository or of a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },
    /// The request cannot be accepted as it is (invalid flow, invalid inputs, wrong state).
    #[error("{0}")]
    Invalid(String),
    /// A conflict with the stored state (disabled flow, execution already ended).
    #[error("{0}")]
    Conflict(String),
    #[error("backend failure: {0}")]
    Backend(String),
}

/// One stored revision of a flow: its source as written, and what the server knows of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowRecord {
    pub namespace: String,
    pub id: String,
    pub revision: u32,
    pub source: String,
    pub updated: Timestamp,
    pub deleted: bool,
}

/// Which revision of a flow is the latest: what tells a process that a flow changed, without
/// reading its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowHead {
    pub namespace: String,
    pub id: String,
    pub revision: u32,
}

/// Filters for listing flows; empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlowQuery {
    /// The namespace or one of its parents (`company` matches `company.team`).
    pub namespace: Option<String>,
    /// Text to find in the flow id or source.
    pub text: Option<String>,
}

impl FlowQuery {
    /// Whether a flow revision passes the filters (text is matched without case).
    pub fn matches(&self, record: &FlowRecord) -> bool {
        let text = self.text.as_deref().map(str::to_lowercase);
        self.namespace
            .as_deref()
            .is_none_or(|filter| in_namespace(&record.namespace, filter))
            && text.as_deref().is_none_or(|text| {
                record.id.to_lowercase().contains(text)
                    || record.namespace.to_lowercase().contains(text)
                    || record.source.to_lowercase().contains(text)
            })
    }
}

/// `namespace` is `filter` or one of its children (`company` holds `company.team`).
pub fn in_namespace(namespace: &str, filter: &str) -> bool {
    namespace == filter
        || namespace
            .strip_prefix(filter)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Flows with revisions. Contract: `save` of an unchanged source keeps the revision; a changed
/// source gets the previous revision + 1; `delete` keeps the revisions but hides the flow.
pub trait FlowRepository: Send + Sync {
    fn save(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<FlowRecord, Error>>;
    /// The latest revision (or the given one), unless deleted.
    fn get(
        &self,
        namespace: &str,
        id: &str,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Option<FlowRecord>, Error>>;
    /// Every revision, oldest first.
    fn revisions(&self, namespace: &str, id: &str)
    -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>>;
    /// The latest revision of every flow matching the query, sorted by namespace then id.
    fn list(&self, query: &FlowQuery) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>>;
    /// The latest revision number of every flow not deleted, sorted by namespace then id: what
    /// [`Self::list`] answers without sources, for the processes that check every second
    /// whether a flow changed. Backends over a database answer it without reading sources.
    fn heads(&self) -> BoxFuture<'_, Result<Vec<FlowHead>, Error>> {
        Box::pin(async move {
            let listed = self.list(&FlowQuery::default()).await?;
            Ok(listed
                .into_iter()
                .map(|record| FlowHead {
                    namespace: record.namespace,
                    id: record.id,
                    revision: record.revision,
                })
                .collect())
        })
    }
    /// Returns false when there was no such flow.
    fn delete(
        &self,
        namespace: &str,
        id: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<bool, Error>>;
}

/// Filters and paging for execution searches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecutionQuery {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    pub states: Vec<State>,
    /// 1-based page number.
    pub page: usize,
    pub size: usize,
}

impl ExecutionQuery {
    /// Whether an execution passes every filter of the query.
    pub fn matches(&self, execution: &Execution) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|filter| in_namespace(&execution.namespace, filter))
            && self
                .flow_id
                .as_deref()
                .is_none_or(|flow_id| execution.flow_id == flow_id)
            && (self.states.is_empty() || self.states.contains(&execution.state.current))
    }
}

/// One page of results and the total count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub results: Vec<T>,
    pub total: usize,
}

/// Which ended executions a purge removes (Kestra's `PurgeExecutions`); empty filters match
/// everything.
#[derive(Clone, Debug, PartialEq)]
pub struct PurgeQuery {
    /// The namespace or one of its parents (`company` matches `company.team`).
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// Executions started at or after this instant (Kestra's `startDate`).
    pub started_after: Option<Timestamp>,
    /// Executions started at or before this instant (Kestra's `endDate`).
    pub started_before: Timestamp,
    /// The states to purge; empty means every terminal state. Only terminal states ever match:
    /// an execution that has not ended is never purged, even when its state is listed.
    pub states: Vec<State>,
}

impl PurgeQuery {
    /// Whether an execution has ended and passes every filter of the query.
    pub fn matches(&self, execution: &Execution) -> bool {
        let state = execution.state.current;
        let started = execution.state.started();
        state.is_terminated()
            && (self.states.is_empty() || self.states.contains(&state))
            && self
                .namespace
                .as_deref()
                .is_none_or(|filter| in_namespace(&execution.namespace, filter))
            && self
                .flow_id
                .as_deref()
                .is_none_or(|flow_id| execution.flow_id == flow_id)
            && started.is_some_and(|started| {
                started <= self.started_before
                    && self.started_after.is_none_or(|after| started >= after)
            })
    }
}

/// An execution a purge removed: what the caller needs to remove its files from internal
/// storage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgedExecution {
    pub id: String,
    pub namespace: String,
    pub flow_id: String,
}

/// Stored executions, newest first in searches.
pub trait ExecutionRepository: Send + Sync {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>>;
    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>>;
    /// Returns false when there was no such execution.
    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>>;
    /// Deletes at most `limit` executions matching `query` (only ended ones, oldest started
    /// first) with everything stored for them: task runs, frames, outbox rows, parent link and,
    /// when `logs` is true, their log lines. Atomic per call: an execution is removed whole or
    /// not at all. Returns the executions removed, in no particular order; a caller purging
    /// everything calls again until it gets fewer than `limit`.
    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>>;
}

/// Filters for log searches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogQuery {
    pub execution_id: Option<String>,
    pub task_run_id: Option<String>,
    pub task_id: Option<String>,
    pub min_level: Option<LogLevel>,
    /// The namespace or one of its parents (`company` matches `company.team`).
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// Text to find in the message, without case.
    pub text: Option<String>,
    /// Lines written at or after this instant.
    pub from: Option<Timestamp>,
    /// Lines written at or before this instant.
    pub to: Option<Timestamp>,
}

impl LogQuery {
    /// Whether a log line passes every filter of the query (empty filters pass everything).
    pub fn matches(&self, line: &LogEntry) -> bool {
        let same = |wanted: &Option<String>, value: Option<&str>| {
            wanted.as_deref().is_none_or(|wanted| value == Some(wanted))
        };
        same(&self.execution_id, Some(&line.execution_id))
            && same(&self.task_run_id, line.task_run_id.as_deref())
            && same(&self.task_id, line.task_id.as_deref())
            && same(&self.flow_id, Some(&line.flow_id))
            && self.min_level.is_none_or(|level| line.level >= level)
            && self
                .namespace
                .as_deref()
                .is_none_or(|filter| in_namespace(&line.namespace, filter))
            && self
                .text
                .as_deref()
                .is_none_or(|text| line.message.to_lowercase().contains(&text.to_lowercase()))
            && self.from.is_none_or(|from| line.timestamp >= from)
            && self.to.is_none_or(|to| line.timestamp <= to)
    }
}

/// Which page of a log search, and in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogPaging {
    /// 1-based page number.
    pub page: usize,
    pub size: usize,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

impl Default for LogPaging {
    fn default() -> Self {
        Self {
            page: 1,
            size: 10,
            oldest_first: false,
        }
    }
}

/// Execution logs, in the order they were written.
pub trait LogRepository: Send + Sync {
    fn append(&self, entries: Vec<LogEntry>) -> BoxFuture<'_, Result<(), Error>>;
    /// Every matching line, in the order written.
    fn find(&self, query: &LogQuery) -> BoxFuture<'_, Result<Vec<LogEntry>, Error>>;
    /// One page of the matching lines, newest first unless asked otherwise (in the order
    /// written: lines of one instant keep their order), and how many match in all.
    fn page(
        &self,
        query: &LogQuery,
        paging: LogPaging,
    ) -> BoxFuture<'_, Result<Page<LogEntry>, Error>>;
    fn delete_execution(&self, execution_id: &str) -> BoxFuture<'_, Result<usize, Error>>;
    /// Deletes every line matching `query` whose level is one of `levels` (any level when
    /// empty), atomically (Kestra's `PurgeLogs`); returns how many were deleted.
    fn purge(&self, query: &LogQuery, levels: Vec<LogLevel>)
    -> BoxFuture<'_, Result<usize, Error>>;
}

/// A new execution to start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StartRequest {
    pub namespace: String,
    pub flow_id: String,
    /// Raw inputs: text from forms (or JSON values), typed against the flow's inputs.
    pub inputs: Map<String, Value>,
    pub labels: Vec<Label>,
    pub revision: Option<u32>,
    /// Files for FILE inputs: stored in internal storage under the new execution, each input
    /// then holds its file's `kestra:///` URI.
    pub files: Vec<InputFile>,
}

/// A file sent for a FILE input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputFile {
    /// The input it is for.
    pub input: String,
    /// The name it is stored under; empty when the client did not give one.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A call of a flow's Webhook trigger: `/api/v1/executions/webhook/{namespace}/{flowId}/{key}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebhookCall {
    pub namespace: String,
    pub flow_id: String,
    /// The key in the URL, compared with each Webhook trigger's rendered `key`.
    pub key: String,
    /// The request body as sent; `None` when there is none.
    pub body: Option<String>,
    /// Header names (lower case) and query parameters, each with every value given.
    pub headers: Vec<(String, String)>,
    pub parameters: Vec<(String, String)>,
}

/// What a webhook call did.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookOutcome {
    /// An execution was created; the trigger asks to answer once it has ended (`wait`), with
    /// the flow outputs only (`return_outputs`).
    Started {
        execution: Box<Execution>,
        wait: bool,
        return_outputs: bool,
    },
    /// The trigger's conditions do not hold for this call: nothing was started.
    Skipped,
}

/// A stream of successive versions of an execution, ending after a terminal one.
pub type ExecutionUpdates = tokio::sync::mpsc::Receiver<Execution>;

/// What the API asks of the executors. Contract: a command returns once it is durably accepted
/// (the execution is created, the kill is recorded); its effects follow asynchronously.
pub trait ExecutionCommands: Send + Sync {
    fn start(&self, request: StartRequest) -> BoxFuture<'_, Result<Execution, Error>>;
    /// Starts an execution through the flow's Webhook trigger whose rendered key is the call's:
    /// [`Error::NotFound`] when no flow or trigger matches, [`Error::Conflict`] when the flow
    /// or the trigger is disabled. Backends without webhooks answer not found.
    fn webhook(&self, call: WebhookCall) -> BoxFuture<'_, Result<WebhookOutcome, Error>> {
        Box::pin(async move {
            Err(Error::NotFound {
                what: "webhook",
                id: format!("{}.{}/{}", call.namespace, call.flow_id, call.key),
            })
        })
    }
    fn kill(&self, execution_id: &str) -> BoxFuture<'_, Result<(), Error>>;
    /// Runs an ended, unsuccessful execution again from its failed task runs, keeping its id.
    /// Answers the execution once the restart is committed.
    fn restart(&self, execution_id: &str) -> BoxFuture<'_, Result<Execution, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move {
            Err(Error::Invalid(format!(
                "execution '{id}' cannot be restarted here"
            )))
        })
    }
    fn resume(
        &self,
        execution_id: &str,
        inputs: Option<Map<String, Value>>,
    ) -> BoxFuture<'_, Result<(), Error>>;
    /// Creates a new execution from an ended one (Kestra's replay): with `task_run_id`, the task
    /// runs that ended before it are copied and the new execution runs again from it; without,
    /// it runs from the start. `revision` is the flow revision to run. Answers the new execution
    /// once it is committed.
    fn replay(
        &self,
        execution_id: &str,
        task_run_id: Option<String>,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Execution, Error>> {
        let _ = (task_run_id, revision);
        let id = execution_id.to_string();
        Box::pin(async move {
            Err(Error::Invalid(format!(
                "execution '{id}' cannot be replayed here"
            )))
        })
    }
    /// Replaces the labels of an ended execution with `labels`, as given (the API decides which
    /// labels a user may change). Answers the execution once the change is committed.
    fn set_labels(
        &self,
        execution_id: &str,
        labels: Vec<Label>,
    ) -> BoxFuture<'_, Result<Execution, Error>> {
        let _ = labels;
        let id = execution_id.to_string();
        Box::pin(async move {
            Err(Error::Invalid(format!(
                "the labels of execution '{id}' cannot be changed here"
            )))
        })
    }
    /// Resumes with files for FILE `onResume` inputs, stored under the execution like the files
    /// of a start. Backends that take no files refuse them.
    fn resume_with_files(
        &self,
        execution_id: &str,
        inputs: Option<Map<String, Value>>,
        files: Vec<InputFile>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        if files.is_empty() {
            return self.resume(execution_id, inputs);
        }
        Box::pin(async move {
            Err(Error::Invalid(
                "files cannot be sent when resuming an execution here".into(),
            ))
        })
    }
    /// The current version now, then every change until the execution ends.
    fn follow(&self, execution_id: &str) -> BoxFuture<'_, Result<ExecutionUpdates, Error>>;
}
