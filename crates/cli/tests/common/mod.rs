//! What the end-to-end tests share: a `peregrine server local` (or `standalone`) on a free
//! port, stopped when dropped, and an HTTP agent that returns every status.

// Each test binary compiles this module on its own and uses a part of it.
#![allow(dead_code)]

pub mod cluster;
pub mod executions;
pub mod recovery;
pub mod services;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `peregrine server local --port <free> <args>` and waits for its ready line.
    pub fn start(args: &[&std::ffi::OsStr]) -> Self {
        Self::start_with("local", args, &[])
    }

    /// Starts `peregrine server standalone --port <free>` configured by environment variables
    /// and waits for its ready line.
    pub fn standalone(variables: &[(&str, &str)]) -> Self {
        Self::start_with("standalone", &[], variables)
    }

    /// [`Server::standalone`] with more arguments (`--worker-thread 0`).
    pub fn standalone_with(args: &[&str], variables: &[(&str, &str)]) -> Self {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        Self::start_with("standalone", &args, variables)
    }

    /// Starts `peregrine server worker` configured by environment variables and waits for its
    /// ready line (`base` is empty: a worker serves nothing).
    pub fn worker(variables: &[(&str, &str)]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_peregrine"))
            .args(["server", "worker"])
            .envs(variables.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the peregrine binary starts");
        Self::ready(child, String::new())
    }

    /// Starts `peregrine server <role>` (executor, scheduler, webserver) configured by
    /// environment variables, without waiting for it to be ready; a webserver gets a free port.
    pub fn role_later(role: &str, variables: &[(&str, &str)]) -> Starting {
        let mut command = Command::new(env!("CARGO_BIN_EXE_peregrine"));
        command.args(["server", role]);
        let mut base = String::new();
        if role == "webserver" {
            let port = free_port();
            command.args(["--port", &port.to_string()]);
            base = format!("http://127.0.0.1:{port}");
        }
        let child = command
            .envs(variables.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the peregrine binary starts");
        Starting { child, base }
    }

    /// [`Server::role_later`], its standard error written to `log`.
    pub fn role_logged(role: &str, variables: &[(&str, &str)], log: &std::path::Path) -> Starting {
        let file = std::fs::File::create(log).expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_peregrine"))
            .args(["server", role])
            .envs(variables.iter().copied())
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .expect("the peregrine binary starts");
        Starting {
            child,
            base: String::new(),
        }
    }

    /// [`Server::role_later`], once ready.
    pub fn role(role: &str, variables: &[(&str, &str)]) -> Self {
        Self::role_later(role, variables).ready()
    }

    fn start_with(mode: &str, args: &[&std::ffi::OsStr], variables: &[(&str, &str)]) -> Self {
        Self::launch(mode, args, variables).ready()
    }

    /// Starts `peregrine server standalone --port <free> <args>` without waiting for it to be
    /// ready (a standby executor is ready once it holds the executor's lease).
    pub fn standalone_later(args: &[&str], variables: &[(&str, &str)]) -> Starting {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        Self::launch("standalone", &args, variables)
    }

    fn launch(mode: &str, args: &[&std::ffi::OsStr], variables: &[(&str, &str)]) -> Starting {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_peregrine"))
            .args(["server", mode, "--port", &port.to_string()])
            .args(args)
            .envs(variables.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the peregrine binary starts");
        Starting {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn ready(mut child: Child, base: String) -> Self {
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("a ready line");
        assert!(line.contains("ready"), "{line}");
        Self { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server started and not ready yet.
pub struct Starting {
    child: Child,
    base: String,
}

impl Starting {
    /// Waits for its ready line.
    pub fn ready(self) -> Server {
        let Starting { child, base } = self;
        Server::ready(child, base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// An agent that does not turn error statuses into errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}
