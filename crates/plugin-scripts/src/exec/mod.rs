//! Running script tasks on this worker: every task runs with the Process task runner (a child
//! process in a fresh working directory), whatever `taskRunner` it names; see the crate docs.

mod glob;
mod input_files;
mod legacy_bash;
mod locals;
mod log_consumer;
mod output_files;
mod process;
mod runner_choice;
mod script;
mod storage_files;
mod workdir;

pub(crate) use legacy_bash::run_bash;
pub use process::KILL_GRACE_PERIOD;
pub(crate) use script::{Body, Launcher, ScriptFile, ScriptTask, run_script};
