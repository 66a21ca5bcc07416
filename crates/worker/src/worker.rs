//! Running one job: build the task, render its timeout, run it under cancellation, report.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use peregrine_engine::{TaskUpdate, WorkerJob};
use peregrine_model::expressions::Expressions;
use peregrine_model::state::State;
use peregrine_plugin_api::{LogLevel, LogSink, RunContext, Runners, TaskError, TaskServices};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Cancellation tokens of running task runs: execution id to (task run id, token).
type RunningTokens = HashMap<String, Vec<(String, CancellationToken)>>;

#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// An id for this worker, recorded on attempts.
    pub id: String,
    /// How many tasks run at once.
    pub slots: usize,
    /// Set for workers of their own, which may run on different hosts: the folder of a
    /// WorkingDirectory is saved to internal storage after each of its tasks and brought up to
    /// date before the next one, wherever it runs.
    pub hand_over_directories: bool,
}

/// A cheap-to-clone handle on a worker pool.
#[derive(Clone)]
pub struct Worker {
    options: WorkerOptions,
    runners: Arc<Runners>,
    expressions: Arc<dyn Expressions>,
    logs: Arc<dyn LogSink>,
    services: TaskServices,
    slots: Arc<Semaphore>,
    running: Arc<Mutex<RunningTokens>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.options.id)
            .finish()
    }
}

impl Worker {
    /// Removes the folder shared by the tasks of a WorkingDirectory that has ended.
    pub async fn release_directory(&self, key: &str) {
        crate::directory::release(key).await;
    }

    /// Deletes what workers of their own handed over of a WorkingDirectory that has ended (its
    /// folder saved in internal storage, in the execution `scope`).
    pub async fn forget_handed_over(
        &self,
        scope: &peregrine_ports::storage::StorageContext,
        key: &str,
    ) -> Result<(), String> {
        crate::handover::forget(self.services.storage.as_ref(), scope, key).await
    }

    pub fn new(
        options: WorkerOptions,
        runners: Arc<Runners>,
        expressions: Arc<dyn Expressions>,
        logs: Arc<dyn LogSink>,
        services: TaskServices,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(options.slots.max(1)));
        Self {
            options,
            runners,
            expressions,
            logs,
            services,
            slots,
            running: Arc::default(),
        }
    }

    /// Interrupts every running task of an execution.
    pub fn kill(&self, execution_id: &str) {
        let tokens = self
            .running
            .lock()
            .map(|mut running| running.remove(execution_id))
            .ok()
            .flatten();
        for (_, token) in tokens.into_iter().flatten() {
            token.cancel();
        }
    }

    /// Interrupts one running task run of an execution.
    pub fn cancel(&self, execution_id: &str, task_run_id: &str) {
        let token = self.running.lock().ok().and_then(|running| {
            running.get(execution_id).and_then(|tokens| {
                tokens
                    .iter()
                    .find(|(id, _)| id == task_run_id)
                    .map(|(_, token)| token.clone())
            })
        });
        if let Some(token) = token {
            token.cancel();
        }
    }

    /// How many task runs may run at once.
    pub fn slots(&self) -> usize {
        self.options.slots.max(1)
    }

    /// This worker's id, recorded on attempts.
    pub fn id(&self) -> &str {
        &self.options.id
    }

    /// Runs one job to its end, calling `report` with RUNNING, then with the final state.
    pub async fn execute(&self, job: WorkerJob, report: impl Fn(TaskUpdate)) {
        let Ok(_permit) = self.slots.acquire().await else {
            return;
        };
        let attempt = u32::try_from(job.task_run.attempts.len() + 1).unwrap_or(u32::MAX);
        let task_run_id = job.task_run.id.clone();
        let execution_id = job.task_run.execution_id.clone();
        let update = |state: State, outputs| TaskUpdate {
            task_run_id: task_run_id.clone(),
            attempt,
            state,
            outputs,
            worker_id: Some(self.options.id.clone()),
        };
        report(update(State::Running, None));
        let shared = job.working_directory.clone();
        let closes_directory = job.closes_directory;
        let mut context = RunContext::new(
            job.task_run,
            job.task,
            job.variables,
            attempt,
            self.expressions.clone(),
            self.logs.clone(),
            self.services.clone(),
        )
        .with_runners(self.runners.clone());
        let hand_over = self.options.hand_over_directories;
        if closes_directory && let Some(shared) = &shared {
            let result = match crate::directory::bring(shared, &context, hand_over).await {
                Ok(()) => crate::directory::close(&context, shared).await,
                Err(message) => Err(message),
            };
            if hand_over {
                crate::directory::release(&shared.key).await;
            }
            return match result {
                Ok(outputs) => report(update(State::Success, Some(outputs))),
                Err(message) => {
                    context.log(LogLevel::Error, message);
                    report(update(State::Failed, None));
                }
            };
        }
        // A closing job has returned above: what remains is a task in the folder.
        let job_directory = shared.clone();
        if let Some(shared) = shared {
            let storage = self.services.storage.clone();
            match crate::directory::prepare(shared, storage.as_ref(), &context, hand_over).await {
                Ok(path) => context = context.with_working_dir(path),
                Err(message) => {
                    context.log(LogLevel::Error, message);
                    report(update(State::Failed, None));
                    return;
                }
            }
        }
        if let Ok(mut running) = self.running.lock() {
            running
                .entry(execution_id.clone())
                .or_default()
                .push((task_run_id.clone(), context.cancel.clone()));
        }
        let mut result = self.run(&context).await;
        // Saved before the task's end is reported (the next task may run on another worker),
        // then this worker's copy goes.
        if hand_over && let Some(shared) = &job_directory {
            if !matches!(result, Err(TaskError::Killed))
                && let Err(message) = crate::directory::hand_over(shared, &context).await
            {
                result = Err(TaskError::Failed(message));
            }
            crate::directory::release(&shared.key).await;
        }
        if let Ok(mut running) = self.running.lock()
            && let Some(tokens) = running.get_mut(&execution_id)
        {
            tokens.retain(|(id, _)| *id != task_run_id);
            if tokens.is_empty() {
                running.remove(&execution_id);
            }
        }
        match result {
            Ok(output) => report(update(
                output.state.unwrap_or(State::Success),
                Some(output.outputs),
            )),
            Err(TaskError::Killed) => report(update(State::Killed, None)),
            Err(error) => {
                context.log(LogLevel::Error, error.to_string());
                report(update(State::Failed, None));
            }
        }
    }

    async fn run(
        &self,
        context: &RunContext,
    ) -> Result<peregrine_plugin_api::TaskOutput, TaskError> {
        let task = self.runners.build(&context.task)?;
        let timeout = match &context.task.common.timeout {
            Some(property) => Some(context.render_property("timeout", property)?),
            None => None,
        };
        let work = task.run(context);
        let cancel = context.cancel.clone();
        tokio::select! {
            result = async {
                match timeout {
                    Some(limit) => tokio::time::timeout(limit.as_std(), work).await.unwrap_or_else(|_| {
                        Err(TaskError::Failed(format!("timeout after {limit}")))
                    }),
                    None => work.await,
                }
            } => result,
            () = cancel.cancelled() => Err(TaskError::Killed),
        }
    }
}
