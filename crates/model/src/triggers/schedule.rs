//! Schedule (cron) and ScheduleOnDates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::duration::Duration;
use crate::flow::Condition;
use crate::registry::{Kind, PluginSpec};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecoverMissedSchedules {
    /// Start one execution for every missed date.
    All,
    /// Start one execution for the most recent missed date only.
    Last,
    /// Skip missed dates.
    None,
}

/// Runs the schedule for past dates.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Backfill {
    pub start: String,
    #[serde(default)]
    pub end: Option<String>,
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    #[serde(default)]
    pub labels: Option<Value>,
}

/// Starts an execution at the dates a cron expression gives.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    /// A 5-field cron expression (6 with `withSeconds`), or `@hourly`, `@daily`, ...
    pub cron: String,
    #[serde(default)]
    pub with_seconds: bool,
    /// The time zone of the cron expression; the server's by default.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    #[serde(default)]
    pub backfill: Option<Backfill>,
    /// Skip a date when it is further in the past than this.
    #[serde(default)]
    pub late_maximum_delay: Option<Duration>,
    #[serde(default)]
    pub recover_missed_schedules: Option<RecoverMissedSchedules>,
    /// Deprecated: conditions on the schedule date.
    #[serde(default)]
    pub schedule_conditions: Vec<Condition>,
    #[serde(default)]
    pub interval: Option<Duration>,
}

impl PluginSpec for ScheduleSpec {
    const KIND: Kind = Kind::Trigger;
    const TYPE: &'static str = "io.kestra.plugin.core.trigger.Schedule";
    const ALIASES: &'static [&'static str] = &["io.kestra.core.models.triggers.types.Schedule"];

    fn check(context: &mut CheckContext<'_>) {
        let Some(node) = context.node.get("cron") else {
            return;
        };
        let Some(cron) = node.as_str() else { return };
        let with_seconds = matches!(
            context.node.get("withSeconds").map(|node| &node.value),
            Some(crate::yaml::NodeValue::Bool(true))
        );
        if let Err(reason) = check_cron_shape(cron, with_seconds) {
            context.report(
                Code::InvalidValue,
                node.span.start,
                Some("cron"),
                format!("invalid cron expression '{cron}': {reason}"),
            );
        }
    }
}

const NICKNAMES: [&str; 8] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@reboot",
];

/// Checks the number of fields and their characters; the scheduler parses the expression fully.
fn check_cron_shape(cron: &str, with_seconds: bool) -> Result<(), String> {
    let cron = cron.trim();
    if cron.starts_with('@') {
        return if NICKNAMES.contains(&cron) {
            Ok(())
        } else {
            Err(format!(
                "unknown nickname, expected one of {}",
                NICKNAMES.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let expected = if with_seconds { 6 } else { 5 };
    if fields.len() != expected {
        return Err(format!(
            "expected {expected} fields, found {}",
            fields.len()
        ));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?' | '#');
    match fields.iter().find(|field| !field.chars().all(allowed)) {
        Some(field) => Err(format!("unexpected character in field '{field}'")),
        None => Ok(()),
    }
}

/// Starts an execution at each of the listed dates.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleOnDatesSpec {
    pub dates: Value,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    #[serde(default)]
    pub recover_missed_schedules: Option<RecoverMissedSchedules>,
    #[serde(default)]
    pub interval: Option<Duration>,
}

impl PluginSpec for ScheduleOnDatesSpec {
    const KIND: Kind = Kind::Trigger;
    const TYPE: &'static str = "io.kestra.plugin.core.trigger.ScheduleOnDates";
}

#[cfg(test)]
mod tests {
    #[test]
    fn cron_shapes() {
        assert!(super::check_cron_shape("* * * * *", false).is_ok());
        assert!(super::check_cron_shape("0 */5 * * MON-FRI", false).is_ok());
        assert!(super::check_cron_shape("@daily", false).is_ok());
        assert!(super::check_cron_shape("* * * *", false).is_err());
        assert!(super::check_cron_shape("0 * * * * *", true).is_ok());
        assert!(super::check_cron_shape("@sometimes", false).is_err());
    }
}
