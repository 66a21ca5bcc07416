//! One execution run to its end inside this process, on throw-away in-memory state: what
//! `peregrine flow test` does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use peregrine_engine::effects::{EngineLog, LogLevel as EngineLevel};
use peregrine_engine::variables::Globals;
use peregrine_engine::{Effect, Event, FlowPlan, NewExecution};
use peregrine_executor::Executor;
use peregrine_model::execution::Execution;
use peregrine_model::{Flow, Registry};
use peregrine_plugin_api::{LogEntry, LogLevel, LogSink};
use peregrine_worker::{Worker, WorkerOptions};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::expressions::PebbleSyntax;

#[derive(Debug, thiserror::Error)]
pub enum LocalRunError {
    #[error("{0}")]
    Plan(#[from] peregrine_engine::plan::PlanError),
    #[error("invalid inputs:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Inputs(Vec<peregrine_engine::inputs::InputError>),
    #[error("{0}")]
    Executor(#[from] peregrine_executor::ExecutorError),
    #[error("the execution did not end within {0:?}")]
    Timeout(Duration),
}

/// The end of a local run: the execution and every log line written.
#[derive(Debug)]
pub struct LocalRun {
    pub execution: Execution,
    pub logs: Vec<LogEntry>,
}

/// Keeps log lines in memory, in order.
#[derive(Default)]
struct MemoryLogs(Mutex<Vec<LogEntry>>);

impl LogSink for MemoryLogs {
    fn emit(&self, entry: LogEntry) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(entry);
        }
    }
}

/// Runs one execution of `flow` with raw `inputs` (text or JSON values) until it ends.
pub async fn run_flow(
    registry: &Registry,
    flow: Flow,
    inputs: &Map<String, Value>,
    timeout: Duration,
) -> Result<LocalRun, LocalRunError> {
    let typed =
        peregrine_engine::inputs::typed_inputs(&flow, inputs).map_err(LocalRunError::Inputs)?;
    let plan = Arc::new(FlowPlan::new(Arc::new(flow), &|type_name| {
        crate::catalogue::role_of(registry, type_name)
    })?);
    let expressions = Arc::new(PebbleSyntax);
    let logs = Arc::new(MemoryLogs::default());
    let worker = Worker::new(
        WorkerOptions {
            id: "local".into(),
            slots: 8,
        },
        crate::catalogue::runners().shared(),
        expressions.clone(),
        logs.clone(),
    );
    let mut executor = Executor::new(
        expressions,
        Globals {
            envs: Value::Object(Map::new()),
            globals: Value::Object(Map::new()),
        },
    );
    let id = executor.create(
        plan,
        NewExecution {
            inputs: typed,
            ..NewExecution::default()
        },
    );
    let (sender, mut receiver) = mpsc::unbounded_channel::<Event>();
    let _ = sender.send(Event::Start);
    let run = async {
        while let Some(event) = receiver.recv().await {
            let mut ended = false;
            for effect in executor.handle(&id, event)? {
                match effect {
                    Effect::RunTask(job) => {
                        let (worker, sender) = (worker.clone(), sender.clone());
                        tokio::spawn(async move {
                            worker
                                .execute(*job, |update| {
                                    drop(sender.send(Event::TaskUpdate(update)))
                                })
                                .await;
                        });
                    }
                    Effect::KillTasks => worker.kill(&id),
                    Effect::SetTimer { at, kind } => {
                        let sender = sender.clone();
                        let wait = at.duration_since(jiff::Timestamp::now()).unsigned_abs();
                        tokio::spawn(async move {
                            tokio::time::sleep(wait).await;
                            let _ = sender.send(Event::Timer(kind));
                        });
                    }
                    Effect::Log(log) => logs.emit(engine_log(&id, executor.execution(&id), log)),
                    Effect::Ended(_) => ended = true,
                }
            }
            if ended {
                break;
            }
        }
        Ok::<(), LocalRunError>(())
    };
    tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| LocalRunError::Timeout(timeout))??;
    let execution = executor
        .execution(&id)
        .cloned()
        .ok_or_else(|| peregrine_executor::ExecutorError::UnknownExecution(id.clone()))?;
    let lines = logs.0.lock().map(|lines| lines.clone()).unwrap_or_default();
    Ok(LocalRun {
        execution,
        logs: lines,
    })
}

fn engine_log(execution_id: &str, execution: Option<&Execution>, log: EngineLog) -> LogEntry {
    LogEntry {
        namespace: execution
            .map(|execution| execution.namespace.clone())
            .unwrap_or_default(),
        flow_id: execution
            .map(|execution| execution.flow_id.clone())
            .unwrap_or_default(),
        execution_id: execution_id.to_string(),
        task_id: log.task_id,
        task_run_id: log.task_run_id,
        attempt_number: None,
        timestamp: jiff::Timestamp::now(),
        level: match log.level {
            EngineLevel::Info => LogLevel::Info,
            EngineLevel::Warn => LogLevel::Warn,
            EngineLevel::Error => LogLevel::Error,
        },
        message: log.message,
    }
}
