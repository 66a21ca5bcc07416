//! `peregrine server worker`: the worker role alone, over the database and internal storage the
//! executors use. It claims jobs from the store's outbox (see `peregrine_worker::remote`).

use std::sync::Arc;

use peregrine_model::state::State;
use peregrine_plugin_api::{ControlError, ExecutionControl, ResumeRequest, Runners};
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::ExecutionRepository;
use peregrine_ports::store::ExecutionBackend;
use peregrine_worker::{RemoteWorker, Reports, Worker, WorkerOptions};

pub use peregrine_worker::{RemoteError, RemoteOptions};

use crate::backends::Backends;
use crate::config::ConfigError;
use crate::expressions::RuntimeExpressions;
use crate::runtime::RowCommand;

/// A worker of its own process over `backends`, running `slots` task runs at once with the
/// task types of `runners`.
pub fn remote_worker(
    backends: &Backends,
    id: String,
    slots: usize,
    runners: Runners,
    options: RemoteOptions,
) -> Result<RemoteWorker, ConfigError> {
    let Some(queue) = backends.queue.clone() else {
        return Err(ConfigError::Invalid(
            "a worker of its own needs a database the executors share: set \
             kestra.repository.type to postgres or mysql"
                .into(),
        ));
    };
    let base = backends.runtime_options();
    // Tasks read logs and executions from the shared store; their commands on executions
    // (`execution.Resume`) go to the executor through it.
    let services = peregrine_plugin_api::TaskServices {
        logs: backends.store.clone(),
        executions: backends.store.clone(),
        control: Arc::new(StoreControl {
            store: backends.store.clone(),
        }),
        ..base.services
    };
    let expressions = Arc::new(RuntimeExpressions::new(services.clone()));
    let reports = Reports::new();
    let worker = Worker::new(
        WorkerOptions {
            id,
            slots: slots.max(1),
            hand_over_directories: true,
        },
        runners.shared(),
        expressions,
        reports.clone(),
        services,
    );
    Ok(RemoteWorker::new(
        worker,
        queue,
        backends.store.clone(),
        reports,
        options,
    ))
}

/// An id for this worker process: host, process id and start instant, so a restarted process
/// never reuses the claims of its predecessor.
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|host| host.trim().to_string())
        .ok()
        .filter(|host| !host.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "worker".into());
    let started = jiff::Timestamp::now().as_microsecond();
    format!("{host}-{}-{started:x}", std::process::id())
}

/// Commands of tasks on executions, from a worker of its own: checked against the stored
/// execution, then written as a `command:` row the executor applies (with its own checks).
struct StoreControl {
    store: Arc<dyn ExecutionBackend>,
}

impl StoreControl {
    async fn put(&self, execution_id: &str, command: RowCommand) -> Result<(), ControlError> {
        crate::command_rows::put(self.store.as_ref(), execution_id, &command)
            .await
            .map(|_| ())
            .map_err(|error| ControlError::Unavailable(error.to_string()))
    }
}

impl ExecutionControl for StoreControl {
    fn resume(&self, request: ResumeRequest) -> BoxFuture<'_, Result<(), ControlError>> {
        Box::pin(async move {
            let id = request.execution_id.clone();
            let execution = ExecutionRepository::get(self.store.as_ref(), &id)
                .await
                .map_err(|error| ControlError::Unavailable(error.to_string()))?
                .ok_or_else(|| ControlError::NotFound(id.clone()))?;
            if let (Some(namespace), Some(flow_id)) = (&request.namespace, &request.flow_id)
                && (execution.namespace != *namespace || execution.flow_id != *flow_id)
            {
                return Err(ControlError::Invalid(format!(
                    "execution {id} is not an execution of flow {namespace}.{flow_id}"
                )));
            }
            let paused = execution
                .task_run_list
                .iter()
                .any(|run| run.state.current == State::Paused);
            if !paused {
                return Err(ControlError::Conflict(format!(
                    "execution {id} is not paused ({:?})",
                    execution.state.current
                )));
            }
            let command = RowCommand::Resume {
                namespace: request.namespace,
                flow_id: request.flow_id,
                inputs: request.inputs,
            };
            self.put(&id, command).await
        })
    }

    fn forget(&self, execution_ids: &[String]) {
        let ids = execution_ids.to_vec();
        let control = StoreControl {
            store: self.store.clone(),
        };
        tokio::spawn(async move {
            for id in ids {
                let _ = control.put(&id, RowCommand::Forget).await;
            }
        });
    }
}
