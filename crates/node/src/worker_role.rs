//! `peregrine server worker`: the worker role alone, over the database and internal storage the
//! executors use. It claims jobs from the store's outbox (see `peregrine_worker::remote`).

use std::sync::Arc;

use peregrine_plugin_api::Runners;
use peregrine_worker::{RemoteWorker, Reports, Worker, WorkerOptions};

pub use peregrine_worker::{RemoteError, RemoteOptions};

use crate::backends::Backends;
use crate::config::ConfigError;
use crate::expressions::RuntimeExpressions;

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
    // Tasks read logs and executions from the shared store; commands on executions
    // (`execution.Resume`) are refused here, as no executor runs in this process.
    let services = peregrine_plugin_api::TaskServices {
        logs: backends.store.clone(),
        executions: backends.store.clone(),
        ..base.services
    };
    let expressions = Arc::new(RuntimeExpressions::new(services.clone()));
    let reports = Reports::new();
    let worker = Worker::new(
        WorkerOptions {
            id,
            slots: slots.max(1),
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
