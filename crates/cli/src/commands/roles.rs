//! `peregrine server webserver` and `peregrine server scheduler`: one role alone, over the
//! database and internal storage the executors use.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use peregrine_node::backends::Backends;
use peregrine_node::config::ServerConfig;
use tokio_util::sync::CancellationToken;

/// Runs `role` on a tokio runtime until Ctrl-C or SIGTERM.
fn block_on<F>(role: impl FnOnce(CancellationToken) -> F) -> anyhow::Result<ExitCode>
where
    F: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(super::server::stop_on_signal(shutdown.clone()));
        role(shutdown).await
    })?;
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(code)
}

pub fn webserver(started: Instant, config: ServerConfig, port: u16) -> anyhow::Result<ExitCode> {
    block_on(|shutdown| async move {
        let backends = Backends::open(&config).await?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let description = backends.description.clone();
        let ready = move |address: SocketAddr| {
            super::say(format_args!(
                "peregrine server webserver ready on http://{address} in {} ms ({description})",
                started.elapsed().as_millis()
            ));
        };
        let registry = Arc::new(peregrine_node::catalogue());
        peregrine_node::webserver_role::serve(&backends, registry, address, shutdown, ready)
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn scheduler(started: Instant, config: ServerConfig) -> anyhow::Result<ExitCode> {
    block_on(|shutdown| async move {
        let backends = Backends::open(&config).await?;
        if backends.queue.is_none() {
            anyhow::bail!(
                "a scheduler of its own needs a database the executors share: set \
                 kestra.repository.type to postgres or mysql"
            );
        }
        let registry = Arc::new(peregrine_node::catalogue());
        let _scheduler =
            peregrine_node::scheduling::start_alone(&backends, registry, shutdown.clone());
        super::say(format_args!(
            "peregrine server scheduler ready in {} ms ({})",
            started.elapsed().as_millis(),
            backends.description
        ));
        shutdown.cancelled().await;
        Ok(ExitCode::SUCCESS)
    })
}
