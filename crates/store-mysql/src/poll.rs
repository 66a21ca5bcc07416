//! How [`OutboxQueue::wait`](peregrine_ports::queue::OutboxQueue::wait) waits on MySQL, which
//! has no notifications: by polling, adaptively, per prefix.
//!
//! While the last `claim` or `rows` of a prefix found rows, the next wait returns at once (the
//! caller is busy draining). Otherwise it sleeps a pause that starts at [`FIRST_PAUSE`] and
//! doubles up to [`LONGEST_PAUSE`] while nothing is found, ended early by the commits and kills
//! of this process (every clone of a store shares one [`Polls`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use peregrine_ports::wakeups::Wakeups;

/// The first pause after a poll that found nothing...
pub(crate) const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// ...and the longest: rows put by another process wait at most this long to be seen.
pub(crate) const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// The polling state of one prefix.
struct Poll {
    /// The last poll found rows: the next wait returns at once.
    busy: bool,
    /// How long the next idle wait sleeps.
    pause: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Self {
            busy: false,
            pause: FIRST_PAUSE,
        }
    }
}

/// The polling state of every prefix, and the wake-ups of this process.
#[derive(Default)]
pub(crate) struct Polls {
    wakeups: Wakeups,
    prefixes: Mutex<HashMap<String, Poll>>,
}

impl Polls {
    /// The map holds plain values a panicking holder cannot leave half-written.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Poll>> {
        self.prefixes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what a poll of `prefix` found: rows make the next wait return at once and the
    /// pause start over.
    pub(crate) fn polled(&self, prefix: &str, found: bool) {
        let mut prefixes = self.lock();
        let poll = prefixes.entry(prefix.to_string()).or_default();
        poll.busy = found;
        if found {
            poll.pause = FIRST_PAUSE;
        }
    }

    /// Wakes the waiters of the prefixes of rows this process just put.
    pub(crate) fn notify_keys<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        self.wakeups.notify_keys(keys);
    }

    /// Wakes the waiter of `prefix`.
    pub(crate) fn notify(&self, prefix: &str) {
        self.wakeups.notify(prefix);
    }

    /// `None` when the last poll found rows (the busy mark is used up), else the pause to sleep.
    fn next_pause(&self, prefix: &str) -> Option<Duration> {
        let mut prefixes = self.lock();
        let poll = prefixes.entry(prefix.to_string()).or_default();
        if std::mem::take(&mut poll.busy) {
            None
        } else {
            Some(poll.pause)
        }
    }

    fn lengthen(&self, prefix: &str) {
        let mut prefixes = self.lock();
        let poll = prefixes.entry(prefix.to_string()).or_default();
        poll.pause = poll.pause.saturating_mul(2).min(LONGEST_PAUSE);
    }

    /// Returns at once after a poll that found rows; otherwise after the pause, a wake-up of
    /// this process, or `timeout`, whichever comes first.
    pub(crate) async fn wait(&self, prefix: &str, timeout: Duration) {
        let Some(pause) = self.next_pause(prefix) else {
            return;
        };
        if !self.wakeups.wait(prefix, pause.min(timeout)).await {
            self.lengthen(prefix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(polls: &Polls, prefix: &str) -> Option<Duration> {
        polls.lock().get(prefix).map(|poll| poll.pause)
    }

    #[tokio::test]
    async fn the_pause_doubles_while_idle_and_starts_over_when_rows_come() {
        let polls = Polls::default();
        for _ in 0..8 {
            polls.wait("job:", Duration::from_secs(1)).await;
        }
        assert_eq!(pause(&polls, "job:"), Some(LONGEST_PAUSE));
        polls.polled("job:", true);
        assert_eq!(pause(&polls, "job:"), Some(FIRST_PAUSE));
        let started = std::time::Instant::now();
        polls.wait("job:", Duration::from_secs(1)).await;
        assert!(started.elapsed() < FIRST_PAUSE, "busy: no sleep");
        assert_eq!(
            polls.next_pause("job:"),
            Some(FIRST_PAUSE),
            "busy is used up"
        );
    }

    #[tokio::test]
    async fn a_wake_up_of_this_process_ends_the_pause() {
        let polls = Polls::default();
        polls.polled("job:", false);
        polls.lengthen("job:");
        polls.lengthen("job:");
        assert_eq!(pause(&polls, "job:"), Some(Duration::from_millis(4)));
        polls.notify_keys(["job:a"]);
        polls.wait("job:", Duration::from_secs(1)).await;
        assert_eq!(
            pause(&polls, "job:"),
            Some(Duration::from_millis(4)),
            "woken before the pause ended, so not lengthened"
        );
    }
}
