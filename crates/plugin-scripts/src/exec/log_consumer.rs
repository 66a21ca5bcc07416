//! What a script prints: each line becomes an execution log (stdout INFO, stderr ERROR), except
//! the lines of Kestra's output protocol, `::{"outputs": {...}, "logs": [...], "metrics": [...]}::`,
//! whose `outputs` are merged into the task's `vars` and whose `logs` are emitted at their level.

use peregrine_plugin_api::{LogLevel, RunContext};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Counts the lines a script printed and gathers its protocol outputs.
pub(crate) struct LogConsumer<'a> {
    context: &'a RunContext,
    pub stdout_lines: u64,
    pub stderr_lines: u64,
    /// The `outputs` of every protocol line, later lines winning (a shallow merge, as Kestra).
    pub vars: Map<String, Value>,
}

/// One protocol line. Metrics are accepted but not recorded: the task API has no metrics yet.
#[derive(Deserialize)]
struct ProtocolLine {
    #[serde(default)]
    outputs: Option<Map<String, Value>>,
    #[serde(default)]
    logs: Option<Vec<ProtocolLog>>,
}

#[derive(Deserialize)]
struct ProtocolLog {
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl<'a> LogConsumer<'a> {
    pub fn new(context: &'a RunContext) -> Self {
        Self {
            context,
            stdout_lines: 0,
            stderr_lines: 0,
            vars: Map::new(),
        }
    }

    /// Handles one line (without its line break) read from stdout or stderr.
    pub fn accept(&mut self, line: &str, is_stderr: bool) {
        match protocol_payload(line) {
            Some(payload) => self.accept_protocol(payload),
            None if is_stderr => self.context.log(LogLevel::Error, line),
            None => self.context.log(LogLevel::Info, line),
        }
        if is_stderr {
            self.stderr_lines += 1;
        } else {
            self.stdout_lines += 1;
        }
    }

    fn accept_protocol(&mut self, payload: &str) {
        let parsed: ProtocolLine = match serde_json::from_str(payload) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.context
                    .log(LogLevel::Warn, format!("Invalid outputs '{error}'"));
                return;
            }
        };
        if let Some(outputs) = parsed.outputs {
            self.vars.extend(outputs);
        }
        for log in parsed.logs.into_iter().flatten() {
            match (log.level, log.message) {
                (Some(level), Some(message)) => self.context.log(LogLevel::parse(&level), message),
                _ => self
                    .context
                    .log(LogLevel::Warn, format!("Invalid log '{payload}'")),
            }
        }
    }
}

/// The JSON of a protocol line: the whole line matches `^::(\{.*\})::$`.
fn protocol_payload(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("::")?.strip_suffix("::")?;
    (inner.len() >= 2 && inner.starts_with('{') && inner.ends_with('}')).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::protocol_payload;

    #[test]
    fn only_whole_lines_between_double_colons_are_protocol_lines() {
        assert_eq!(protocol_payload(r#"::{"a":1}::"#), Some(r#"{"a":1}"#));
        assert_eq!(protocol_payload("::{}::"), Some("{}"));
        assert_eq!(protocol_payload(r#" ::{"a":1}::"#), None);
        assert_eq!(protocol_payload(r#"::{"a":1}:: "#), None);
        assert_eq!(protocol_payload("::{::"), None);
        assert_eq!(protocol_payload("::[1]::"), None);
    }
}
