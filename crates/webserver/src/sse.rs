//! Server-sent event streams, Kestra's way: each event is `id: progress` (or `id: end` for the
//! last) with `data: <JSON>`. Streams end when the server stops, so a graceful shutdown never
//! waits on a follower. No compression layer is set on the router: it would buffer events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::{Stream, StreamExt, stream};
use peregrine_model::log::LogEntry;
use peregrine_ports::repository::{ExecutionUpdates, LogQuery, LogRepository};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// How often a log follower looks for new lines while its execution is not changing.
///
/// The log port has no subscription yet; between two execution changes (a task starting or
/// ending wakes the follower at once), lines written by a long task show up within this delay.
pub const LOG_FOLLOW_TICK: Duration = Duration::from_secs(1);

fn event<T: Serialize>(id: &'static str, value: &T) -> Event {
    Event::default()
        .id(id)
        .data(serde_json::to_string(value).unwrap_or_default())
}

/// The current execution, every change, and the terminal version again as `end` (only `end`
/// when the execution had already ended), as Kestra's follow endpoint sends them.
pub fn execution_events(
    updates: ExecutionUpdates,
    stopping: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> {
    struct Follow {
        updates: ExecutionUpdates,
        first: bool,
        end: Option<Event>,
        done: bool,
    }
    let start = Follow {
        updates,
        first: true,
        end: None,
        done: false,
    };
    stream::unfold(start, |mut follow| async move {
        if let Some(end) = follow.end.take() {
            follow.done = true;
            return Some((Ok(end), follow));
        }
        if follow.done {
            return None;
        }
        let execution = follow.updates.recv().await?;
        let first = std::mem::replace(&mut follow.first, false);
        if execution.state.is_terminated() {
            if first {
                follow.done = true;
                return Some((Ok(event("end", &execution)), follow));
            }
            follow.end = Some(event("end", &execution));
        }
        Some((Ok(event("progress", &execution)), follow))
    })
    .take_until(stopping.cancelled_owned())
}

/// Every log line matching `query` (lines already written first), until the execution behind
/// `updates` has ended and its last lines are sent.
pub fn log_events(
    logs: Arc<dyn LogRepository>,
    query: LogQuery,
    updates: ExecutionUpdates,
    stopping: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> {
    struct Follow {
        logs: Arc<dyn LogRepository>,
        query: LogQuery,
        updates: Option<ExecutionUpdates>,
        sent: usize,
        pending: VecDeque<LogEntry>,
        fetched_after_end: bool,
    }
    let start = Follow {
        logs,
        query,
        updates: Some(updates),
        sent: 0,
        pending: VecDeque::new(),
        fetched_after_end: false,
    };
    stream::unfold(start, |mut follow| async move {
        loop {
            if let Some(line) = follow.pending.pop_front() {
                return Some((Ok(event("progress", &line)), follow));
            }
            if follow.fetched_after_end {
                return None;
            }
            match &mut follow.updates {
                Some(updates) => {
                    tokio::select! {
                        next = updates.recv() => if next.is_none() { follow.updates = None },
                        () = tokio::time::sleep(LOG_FOLLOW_TICK) => {}
                    }
                }
                None => follow.fetched_after_end = true,
            }
            // Lines are only appended, so the ones not sent yet are the tail.
            let lines = follow.logs.find(&follow.query).await.ok()?;
            follow.pending.extend(lines.into_iter().skip(follow.sent));
            follow.sent += follow.pending.len();
        }
    })
    .take_until(stopping.cancelled_owned())
}
