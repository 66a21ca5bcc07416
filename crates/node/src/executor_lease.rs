//! Several executors on one database: the one holding the executor's lease runs executions, the
//! others wait for it. The holder renews it every heartbeat; its store is fenced, so once another
//! executor has taken the lease over, its late commits are refused. An executor that loses the
//! lease (or cannot renew it for the liveness timeout) stops.

use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_ports::lease::{ExecutorLease, Fence};
use tokio_util::sync::CancellationToken;

use crate::config::Liveness;

/// The longest pause between two attempts at a refused lease call.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Waits until `owner` holds the lease (calling `waiting` once if another executor holds it),
/// then fences the store's commits with it. `None` if `shutdown` came first.
pub async fn take(
    lease: &Arc<dyn ExecutorLease>,
    owner: &str,
    liveness: &Liveness,
    shutdown: &CancellationToken,
    waiting: impl FnOnce(),
) -> Option<Fence> {
    let mut waiting = Some(waiting);
    let mut pause = Duration::from_millis(10);
    loop {
        match lease.acquire(owner, liveness.timeout.0).await {
            Ok(Some(epoch)) => {
                let fence = Fence {
                    owner: owner.to_string(),
                    epoch,
                };
                lease.fence_commits(fence.clone());
                return Some(fence);
            }
            Ok(None) => {
                if let Some(waiting) = waiting.take() {
                    waiting();
                }
                pause = liveness.heartbeat_interval.0.min(liveness.timeout.0 / 4);
            }
            Err(error) => {
                eprintln!("executor: cannot take the executor lease, trying again: {error}");
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}

/// Renews the lease every heartbeat until `stop`; cancels `lost` (with the reason) when another
/// executor has taken it over. Failed renewals (the database is away) are tried again: the
/// fenced commits keep this executor from writing once it has been replaced, and while nobody
/// replaced it, it is the one to go on when the database is back.
pub fn keep(
    lease: Arc<dyn ExecutorLease>,
    fence: Fence,
    liveness: Liveness,
    stop: CancellationToken,
    lost: CancellationToken,
) -> tokio::task::JoinHandle<Option<String>> {
    tokio::spawn(async move {
        let mut failing: Option<Instant> = None;
        loop {
            tokio::select! {
                () = tokio::time::sleep(liveness.heartbeat_interval.0) => {}
                () = stop.cancelled() => {
                    let _ = lease.release(&fence).await;
                    return None;
                }
            }
            match lease.renew(&fence, liveness.timeout.0).await {
                Ok(true) => failing = None,
                Ok(false) => {
                    lost.cancel();
                    return Some("another executor has taken the executor lease over".into());
                }
                Err(error) => {
                    let since = *failing.get_or_insert_with(Instant::now);
                    eprintln!(
                        "executor: cannot renew the executor lease (for {:?}), trying again: {error}",
                        since.elapsed()
                    );
                }
            }
        }
    })
}
