//! Following an execution from a process without an executor: the versions the executors commit
//! to the shared database, read again at a pace that quickens while the execution changes.

use std::sync::Arc;
use std::time::Duration;

use peregrine_ports::repository::{Error, ExecutionRepository, ExecutionUpdates};
use tokio::sync::mpsc;

/// The first pause between two reads, and the pause once nothing changes for a while.
const FIRST: Duration = Duration::from_millis(2);
const LONGEST: Duration = Duration::from_millis(100);

/// How many versions a follower's channel holds before the reading task waits for it.
const FOLLOW_CHANNEL: usize = 16;

/// The stored version now, then every new version read, until a terminal one or until the
/// receiver is dropped. A database error is retried at the slowest pace.
pub(super) async fn follow_stored(
    executions: Arc<dyn ExecutionRepository>,
    id: &str,
) -> Result<ExecutionUpdates, Error> {
    let current = executions.get(id).await?.ok_or_else(|| Error::NotFound {
        what: "execution",
        id: id.to_string(),
    })?;
    let (sender, receiver) = mpsc::channel(FOLLOW_CHANNEL);
    let id = id.to_string();
    tokio::spawn(async move {
        let mut last = current;
        if sender.send(last.clone()).await.is_err() {
            return;
        }
        let mut pause = FIRST;
        while !last.state.is_terminated() {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = sender.closed() => return,
            }
            pause = (pause * 2).min(LONGEST);
            let Ok(Some(stored)) = executions.get(&id).await else {
                continue;
            };
            if stored != last {
                last = stored;
                pause = FIRST;
                if sender.send(last.clone()).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(receiver)
}
