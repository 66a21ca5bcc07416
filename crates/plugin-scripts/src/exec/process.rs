//! The Process task runner: runs a command line as a child process in its own process group,
//! streams its stdout and stderr lines as they come, and kills the whole tree when the task is
//! cancelled or its future is dropped (the worker drops it on timeout).
//!
//! Kill: SIGTERM to the process group, then SIGKILL after [`KILL_GRACE_PERIOD`] to whatever of
//! the group is still there.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use peregrine_plugin_api::{LogLevel, RunContext, TaskError};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use super::log_consumer::LogConsumer;

/// How long the processes of a killed task get between SIGTERM and SIGKILL.
pub const KILL_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// How often the SIGKILL follow-up checks whether the process group is gone.
const GROUP_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What to run: `argv[0]` with the other arguments, in `working_dir`, with `env` added to the
/// worker's own environment (as Java's `ProcessBuilder` does).
pub(crate) struct ProcessCommand<'a> {
    pub argv: &'a [String],
    pub working_dir: &'a Path,
    pub env: &'a BTreeMap<String, String>,
}

/// Runs `argv` in the attempt's working directory with `WORKING_DIR` and `OUTPUT_DIR` added to
/// `env`; a non-zero exit is Kestra's "Command failed with exit code N". The caller removes the
/// working directory on an error.
pub(crate) async fn run_in_working_dir(
    context: &RunContext,
    working_dir: &super::workdir::WorkingDir,
    argv: &[String],
    mut env: BTreeMap<String, String>,
    consumer: &mut LogConsumer<'_>,
) -> Result<i32, TaskError> {
    env.insert(
        "WORKING_DIR".to_string(),
        working_dir.path().display().to_string(),
    );
    env.insert(
        "OUTPUT_DIR".to_string(),
        working_dir.output_dir().display().to_string(),
    );
    let command = ProcessCommand {
        argv,
        working_dir: working_dir.path(),
        env: &env,
    };
    let exit_code = run_process(context, &command, consumer).await?;
    if exit_code != 0 {
        return Err(TaskError::Failed(format!(
            "Command failed with exit code {exit_code}"
        )));
    }
    Ok(exit_code)
}

/// Runs the command to its end and returns its exit code (128 + signal when a signal ended it).
///
/// Every line is given to `consumer` as it is read. Returns [`TaskError::Killed`] when
/// `context.cancel` fires; the process group is then terminated before returning.
pub(crate) async fn run_process(
    context: &RunContext,
    command: &ProcessCommand<'_>,
    consumer: &mut LogConsumer<'_>,
) -> Result<i32, TaskError> {
    let Some((program, args)) = command.argv.split_first() else {
        return Err(TaskError::Property {
            property: "interpreter".to_string(),
            message: "must not be empty".to_string(),
        });
    };
    if context.cancel.is_cancelled() {
        return Err(TaskError::Killed);
    }
    let mut child = Command::new(program)
        .args(args)
        .current_dir(command.working_dir)
        .envs(command.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|error| TaskError::Failed(format!("cannot run program '{program}': {error}")))?;
    let pid = child.id().unwrap_or_default();
    // From here on, dropping this future (timeout, kill) terminates the whole group.
    let mut group = ProcessGroup::new(pid);
    context.log(
        LogLevel::Debug,
        format!(
            "Starting command with pid {pid} [{}]",
            command.argv.join(" ")
        ),
    );

    let mut stdout = child.stdout.take().map(BufReader::new);
    let mut stderr = child.stderr.take().map(BufReader::new);
    let mut stdout_line = Vec::new();
    let mut stderr_line = Vec::new();
    let mut status: Option<ExitStatus> = None;
    loop {
        if stdout.is_none() && stderr.is_none() && status.is_some() {
            break;
        }
        // `read_until` keeps partial reads in the buffers, so losing a race here loses nothing.
        tokio::select! {
            biased;
            () = context.cancel.cancelled() => {
                context.log(LogLevel::Warn, format!("Killing process {pid}"));
                group.terminate();
                if status.is_none() {
                    // The SIGKILL follow-up ends it if SIGTERM does not; this only waits for it.
                    let _ = tokio::time::timeout(
                        KILL_GRACE_PERIOD + Duration::from_secs(1),
                        child.wait(),
                    )
                    .await;
                }
                return Err(TaskError::Killed);
            }
            read = read_line(&mut stdout, &mut stdout_line), if stdout.is_some() => {
                if !handle_read(read, &mut stdout_line, false, consumer) {
                    stdout = None;
                }
            }
            read = read_line(&mut stderr, &mut stderr_line), if stderr.is_some() => {
                if !handle_read(read, &mut stderr_line, true, consumer) {
                    stderr = None;
                }
            }
            waited = child.wait(), if status.is_none() => {
                let exited = waited.map_err(|error| {
                    TaskError::Failed(format!("cannot wait for process {pid}: {error}"))
                })?;
                status = Some(exited);
            }
        }
    }
    // The leader ended and every pipe is closed: nothing of the task is left to stop. Processes
    // that detached their output (`nohup cmd >/dev/null &`) are left running, as in Kestra.
    group.disarm();
    let code = status.map_or(-1, exit_code);
    if code == 0 {
        context.log(
            LogLevel::Debug,
            format!("Command succeed with exit code {code}"),
        );
    }
    Ok(code)
}

/// Reads one line into `buffer` (appending); `Ok(0)` at end of stream.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut Option<BufReader<R>>,
    buffer: &mut Vec<u8>,
) -> std::io::Result<usize> {
    match reader {
        Some(reader) => reader.read_until(b'\n', buffer).await,
        None => Ok(0),
    }
}

/// Gives a complete line to the consumer; false once the stream is over.
fn handle_read(
    read: std::io::Result<usize>,
    buffer: &mut Vec<u8>,
    is_stderr: bool,
    consumer: &mut LogConsumer<'_>,
) -> bool {
    // A call cancelled by `select!` keeps what it read in the buffer, and the next call counts
    // only its own bytes: at the end of the stream, a last line without a line break may be in
    // the buffer while the count is 0.
    let open = match read {
        Ok(count) => count > 0,
        Err(error) => {
            consumer.accept(&error.to_string(), true);
            false
        }
    };
    if !buffer.is_empty() {
        let mut line = buffer.as_slice();
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        consumer.accept(&String::from_utf8_lossy(line), is_stderr);
        buffer.clear();
    }
    open
}

fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => -1,
    }
}

/// The process group of a running command; terminates it when dropped while armed.
struct ProcessGroup {
    pgid: Option<Pid>,
}

impl ProcessGroup {
    fn new(pid: u32) -> Self {
        let pgid = i32::try_from(pid)
            .ok()
            .filter(|pid| *pid > 0)
            .map(Pid::from_raw);
        Self { pgid }
    }

    /// The command ended on its own: dropping must not signal anything.
    fn disarm(&mut self) {
        self.pgid = None;
    }

    /// SIGTERM to every process of the group now, SIGKILL to those left after the grace period.
    fn terminate(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            terminate_group(pgid);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn terminate_group(pgid: Pid) {
    if killpg(pgid, Signal::SIGTERM) == Err(Errno::ESRCH) {
        return;
    }
    // A plain thread, not a runtime task: it must run even while the runtime shuts down, and it
    // only sleeps. It ends as soon as the group is gone (zombies of an unreaped group count as
    // present, so it may run the whole grace period).
    let spawned = std::thread::Builder::new()
        .name("peregrine-script-kill".to_string())
        .spawn(move || {
            let deadline = Instant::now() + KILL_GRACE_PERIOD;
            while Instant::now() < deadline {
                std::thread::sleep(GROUP_POLL_INTERVAL);
                if killpg(pgid, None) == Err(Errno::ESRCH) {
                    return;
                }
            }
            let _ = killpg(pgid, Signal::SIGKILL);
        });
    if spawned.is_err() {
        // No thread for the grace period: kill now rather than leave the tree running.
        let _ = killpg(pgid, Signal::SIGKILL);
    }
}
