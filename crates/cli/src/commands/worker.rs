//! `peregrine server worker`: the worker role alone, over the database and internal storage the
//! executors use.

use std::process::ExitCode;
use std::time::Instant;

use peregrine_node::backends::Backends;
use peregrine_node::config::ServerConfig;
use peregrine_node::worker_role::{RemoteOptions, remote_worker, worker_id};
use tokio_util::sync::CancellationToken;

pub fn run(started: Instant, config: ServerConfig) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(async move {
        let slots = config.kestra.worker.threads.max(1);
        // The backends open with a worker of their own so that they check the database is
        // one processes share.
        let backends = Backends::open(&config).await?;
        let server = &config.kestra.server;
        let options = RemoteOptions {
            heartbeat: server.liveness.heartbeat_interval.0,
            timeout: server.liveness.timeout.0,
            grace: server.termination_grace_period.0,
        };
        if options.heartbeat >= options.timeout {
            anyhow::bail!(
                "kestra.server.liveness.heartbeat-interval ({:?}) must be shorter than \
                 kestra.server.liveness.timeout ({:?})",
                options.heartbeat,
                options.timeout
            );
        }
        let id = worker_id();
        let worker = remote_worker(
            &backends,
            id.clone(),
            slots,
            peregrine_node::runners(),
            options,
        )?;
        let shutdown = CancellationToken::new();
        tokio::spawn(super::server::stop_on_signal(shutdown.clone()));
        super::say(format_args!(
            "peregrine server worker {id} ready in {} ms ({slots} threads, {})",
            started.elapsed().as_millis(),
            backends.description
        ));
        match worker.serve(shutdown).await {
            Ok(()) => anyhow::Ok(ExitCode::SUCCESS),
            Err(error) => {
                eprintln!("{error}");
                anyhow::Ok(ExitCode::from(super::LOST))
            }
        }
    })?;
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(code)
}
