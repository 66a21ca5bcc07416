//! `peregrine server local`: every role in this process, with the REST API on 127.0.0.1.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Subcommand;
use peregrine_node::server::{FolderEvent, LocalServerOptions, serve_local};
use tokio_util::sync::CancellationToken;

/// How long in-flight requests may take to finish once a stop is asked.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Run every role (executor, worker, webserver) in this process, serving Kestra's REST API
    /// on 127.0.0.1.
    ///
    /// State (flows, executions, logs) is kept in memory and lost when the server stops;
    /// persistence on SQLite comes next. Stops gracefully on Ctrl-C or SIGTERM.
    Local {
        /// The port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// A folder of flow files (.yml, .yaml; one flow each) to load at start and keep in
        /// step: the folder is polled every second, a changed file becomes a new revision, a
        /// removed file deletes its flow.
        #[arg(long, short = 'f')]
        flow_path: Option<PathBuf>,
    },
}

pub fn run(command: ServerCommand) -> anyhow::Result<ExitCode> {
    match command {
        ServerCommand::Local { port, flow_path } => local(port, flow_path),
    }
}

fn local(port: u16, flow_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        let options = LocalServerOptions {
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            flow_path,
            report: Arc::new(print_folder_event),
        };
        let ready = move |address: SocketAddr| {
            println!(
                "peregrine server local ready on http://{address} in {} ms \
                 (state in memory: lost when the server stops)",
                started.elapsed().as_millis()
            );
        };
        let mut server = tokio::spawn(serve_local(options, shutdown.clone(), ready));
        let overdue = async {
            shutdown.cancelled().await;
            tokio::time::sleep(GRACE).await;
        };
        tokio::select! {
            result = &mut server => result??,
            () = overdue => eprintln!("stopping without waiting for the requests still open"),
        }
        anyhow::Ok(())
    })?;
    // Running tasks (executions in flight) are dropped with the runtime.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(ExitCode::SUCCESS)
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    eprintln!("stopping");
    shutdown.cancel();
}

fn print_folder_event(event: FolderEvent) {
    match event {
        FolderEvent::Saved {
            file,
            flow,
            revision,
        } => eprintln!("{}: flow {flow} revision {revision}", file.display()),
        FolderEvent::Invalid { file, problems } => {
            for problem in problems {
                eprintln!("{}:{problem}", file.display());
            }
        }
        FolderEvent::Deleted { file, flow } => {
            eprintln!("{}: removed, flow {flow} deleted", file.display());
        }
    }
}
