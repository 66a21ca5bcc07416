//! Commands for the executor from processes of their own (workers, a webserver, a scheduler),
//! written as `command:` rows of the store's outbox. The executor reads them, applies each with
//! its own checks and deletes it in the commit that applies it (see `runtime/remote.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use peregrine_ports::queue::COMMANDS;
use peregrine_ports::repository::Error;
use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow};

use crate::runtime::RowCommand;

/// Writes `command` for the executor, durably, about `execution_id`; answers the row's key (the
/// row is gone once the executor has carried the command out).
pub(crate) async fn put(
    store: &dyn ExecutionStore,
    execution_id: &str,
    command: &RowCommand,
) -> Result<String, Error> {
    let key = key_of(command);
    let payload = serde_json::to_value(command)
        .map_err(|error| Error::Backend(format!("a command cannot be written: {error}")))?;
    let commit = Commit {
        put: vec![OutboxRow {
            execution_id: execution_id.to_string(),
            key: key.clone(),
            payload,
        }],
        ..Commit::default()
    };
    store.commit(Arc::new(commit)).await?;
    Ok(key)
}

/// The row's key: the same for every start of one execution, so a start written twice (a
/// scheduler starting a claimed slot again) is one row; unique for the other commands.
fn key_of(command: &RowCommand) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if matches!(command, RowCommand::Start { .. }) {
        return format!("{COMMANDS}start");
    }
    format!(
        "{COMMANDS}{}-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
