//! Command-line structure: one module per command group.

mod flow;
mod flow_test;
mod namespace;
mod roles;
mod server;
mod sys;
mod worker;

use std::process::ExitCode;

/// The exit code of a server that stopped because it lost its place: an executor whose lease
/// another took over, a worker that could not renew its claims.
const LOST: u8 = 3;

/// Writes a line to standard output; a closed output is ignored (a server does not stop because
/// whoever started it no longer reads what it says).
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

use clap::{Parser, Subcommand};

/// Peregrine runs Kestra flows: a fast, light workflow orchestrator in one binary.
#[derive(Debug, Parser)]
#[command(
    name = "peregrine",
    version,
    about = "Peregrine runs Kestra flows: a fast, light workflow orchestrator in one binary."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with flow files.
    #[command(subcommand)]
    Flow(flow::FlowCommand),
    /// Run a Peregrine server.
    #[command(subcommand)]
    Server(server::ServerCommand),
    /// Maintenance of the backends.
    #[command(subcommand)]
    Sys(sys::SysCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Flow(command) => flow::run(command),
        Command::Server(command) => server::run(command),
        Command::Sys(command) => sys::run(command),
    }
}
