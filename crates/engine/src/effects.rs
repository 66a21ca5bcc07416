//! What the engine is told (events) and what it asks the services around it to do (effects).

use jiff::Timestamp;
use peregrine_model::execution::TaskRun;
use peregrine_model::flow::Task;
use peregrine_model::state::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Something that happened to an execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The execution was created: start it.
    Start,
    /// A worker reports on a task run.
    TaskUpdate(TaskUpdate),
    /// Stop everything.
    Kill,
    /// A timer set earlier is due.
    Timer(TimerKind),
    /// A paused execution is resumed by a user.
    Resume { inputs: Option<Map<String, Value>> },
    /// Run an ended execution again from its failed task runs, keeping its id.
    Restart,
    /// A subflow execution started by a task run of this execution has ended.
    SubflowEnded(SubflowEnded),
}

/// The end of a subflow execution, reported to its parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubflowEnded {
    pub task_run_id: String,
    pub execution_id: String,
    pub state: State,
    /// The subflow's `outputs` variable (its task outputs), to render the task's `outputs`.
    pub task_outputs: Map<String, Value>,
    /// The subflow's flow outputs.
    pub flow_outputs: Map<String, Value>,
}

/// A subflow execution to create and start once the parent's state is committed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubflowStart {
    pub task_run_id: String,
    /// The id the child execution must have (already shown in the parent's outputs).
    pub execution_id: String,
    pub namespace: String,
    pub flow_id: String,
    pub revision: Option<u32>,
    pub inputs: Map<String, Value>,
    pub labels: Vec<peregrine_model::flow::Label>,
    /// Report the child's end back to the parent.
    pub wait: bool,
    /// `trigger.variables` of the child: the parent's execution id, namespace, flow id, revision.
    pub parent: Map<String, Value>,
}

/// A worker's report: a new state of one attempt of a task run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskUpdate {
    pub task_run_id: String,
    /// The attempt this report is about, counting from 1.
    pub attempt: u32,
    pub state: State,
    pub outputs: Option<Map<String, Value>>,
    pub worker_id: Option<String>,
}

/// Why a timer was set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TimerKind {
    /// A Pause with a delay is over: resume it.
    ResumePause { task_run_id: String },
    /// A Pause with a timeout is over: fail it.
    PauseTimeout { task_run_id: String },
    /// A failed task run's retry delay is over: run it again.
    RetryTask { task_run_id: String },
    /// An SLA's MAX_DURATION is over: if the execution still runs, the SLA is violated.
    SlaDeadline { index: usize },
    /// A LoopUntil's interval is over: start its next iteration.
    ContinueLoop { task_run_id: String },
}

/// A runnable task run to send to a worker, with everything it needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerJob {
    pub task_run: TaskRun,
    pub task: Task,
    /// The expression context of the task run (flow, execution, inputs, outputs, taskrun, ...).
    pub variables: Value,
    /// Set when the task runs inside a WorkingDirectory: the folder its tasks share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<SharedDirectory>,
    /// The job closes that folder instead of running a task: `task_run` is the WorkingDirectory's
    /// own; its output files are uploaded and its cache saved, and the report carries the
    /// WorkingDirectory's outputs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closes_directory: bool,
}

/// The folder shared by the tasks of one WorkingDirectory task run (all run on one worker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedDirectory {
    /// The WorkingDirectory task run id, naming the folder.
    pub key: String,
    /// Files to create when the folder is created: name to content.
    pub input_files: Map<String, Value>,
    /// Files kept between executions of the flow: restored when the folder is created, saved
    /// when it closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<DirectoryCache>,
    /// Glob patterns of the files uploaded to internal storage when the folder closes, exposed
    /// as the WorkingDirectory's `outputFiles` output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_files: Vec<String>,
    /// The WorkingDirectory's `namespaceFiles`, as written: copied into the folder when it is
    /// created, after the cache and before the input files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_files: Option<Value>,
}

impl SharedDirectory {
    /// True when the folder has work to do once its tasks have ended (outputs, cache).
    pub fn closes(&self) -> bool {
        self.cache.is_some() || !self.output_files.is_empty()
    }
}

/// The cache of a WorkingDirectory, stored in internal storage where Kestra keeps it: under the
/// flow, by task id and (inside a loop) by the hash of the task run's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectoryCache {
    /// The WorkingDirectory's task id: the cache id.
    pub task_id: String,
    /// The WorkingDirectory's task run value: the cached object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Glob patterns of the files kept, relative to the folder.
    pub patterns: Vec<String>,
    /// A cache older than this is dropped, not restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<peregrine_model::duration::Duration>,
}

/// A log line written by the executor about a task run or the execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineLog {
    pub task_run_id: Option<String>,
    pub task_id: Option<String>,
    pub level: LogLevel,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// What the services must do once the new state is committed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    RunTask(Box<WorkerJob>),
    /// Interrupt the running task runs of this execution.
    KillTasks,
    SetTimer {
        at: Timestamp,
        kind: TimerKind,
    },
    StartSubflow(Box<SubflowStart>),
    /// The execution ended RETRIED: start a new execution of the same flow and inputs at `at`,
    /// with the next attempt number.
    ReplayExecution {
        at: Timestamp,
    },
    /// A WorkingDirectory ended: its shared folder can go (and what workers of their own
    /// handed over of it, in the storage of the execution of `namespace`.`flow_id`).
    ReleaseDirectory {
        key: String,
        namespace: String,
        flow_id: String,
    },
    Log(EngineLog),
    /// The execution reached a terminal state.
    Ended(State),
}
