//! Where tasks' log lines go.

pub use peregrine_model::log::{LogEntry, LogLevel};

/// Where log lines go (a store, a channel, standard output).
pub trait LogSink: Send + Sync {
    fn emit(&self, entry: LogEntry);
}
