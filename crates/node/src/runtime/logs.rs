//! Task log lines wait here until the event loop's next commit takes them, so the lines of a
//! task are stored no later than the step that ends it.

use std::sync::Mutex;

use peregrine_plugin_api::{LogEntry, LogSink};
use tokio::sync::mpsc;

use super::Message;

pub(crate) struct PendingLogs {
    lines: Mutex<Vec<LogEntry>>,
    wake: mpsc::UnboundedSender<Message>,
}

impl PendingLogs {
    pub(crate) fn new(wake: mpsc::UnboundedSender<Message>) -> Self {
        Self {
            lines: Mutex::new(Vec::new()),
            wake,
        }
    }

    pub(crate) fn take(&self) -> Vec<LogEntry> {
        self.lines
            .lock()
            .map(|mut lines| std::mem::take(&mut *lines))
            .unwrap_or_default()
    }
}

impl LogSink for PendingLogs {
    fn emit(&self, entry: LogEntry) {
        let first = match self.lines.lock() {
            Ok(mut lines) => {
                lines.push(entry);
                lines.len() == 1
            }
            Err(_) => false,
        };
        // Only the first waiting line wakes the loop; later ones ride the same commit.
        if first {
            let _ = self.wake.send(Message::Flush);
        }
    }
}
