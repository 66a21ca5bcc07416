//! MultipleCondition (deprecated, use the Flow trigger's preconditions): several named conditions
//! that must all have been true within a time window.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition;
use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::duration::Duration;
use crate::flow::Condition;

/// The kind of time window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeWindowType {
    DailyTimeDeadline,
    DailyTimeWindow,
    DurationWindow,
    SlidingWindow,
}

/// The window within which all conditions must have been met.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimeWindow {
    /// DURATION_WINDOW by default.
    #[serde(rename = "type")]
    pub window_type: Option<TimeWindowType>,
    /// For DAILY_TIME_DEADLINE: the time of day (ISO-8601) by which all must be met.
    pub deadline: Option<String>,
    /// For DURATION_WINDOW and SLIDING_WINDOW: the window length; P1D by default.
    pub window: Option<Duration>,
    /// For DURATION_WINDOW: the offset of the window start.
    pub window_advance: Option<Duration>,
    /// For DAILY_TIME_WINDOW: the time of day the window opens.
    pub start_time: Option<String>,
    /// For DAILY_TIME_WINDOW: the time of day the window closes.
    pub end_time: Option<String>,
}

/// True once every named condition has been true within the time window.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MultipleCondition {
    /// The conditions, by name.
    pub conditions: IndexMap<String, Condition>,
    pub time_window: Option<TimeWindow>,
    /// Start counting again once all conditions were met; true by default.
    pub reset_on_success: Option<bool>,
    /// Deprecated: use `timeWindow.window`.
    pub window: Option<Duration>,
    /// Deprecated: use `timeWindow.windowAdvance`.
    pub window_advance: Option<Duration>,
}
condition!(
    MultipleCondition,
    "MultipleCondition",
    "io.kestra.core.models.conditions.types.MultipleCondition";
    check = check_multiple
);

/// Kestra requires an `id` (it keys the stored window) and at least one condition.
fn check_multiple(context: &mut CheckContext<'_>) {
    if context.node.get("id").is_none_or(|node| node.is_null()) {
        let pos = context.node.span.start;
        context.report(
            Code::MissingProperty,
            pos,
            Some("id"),
            "missing required property 'id'",
        );
    }
    if context.node.get("conditions").is_some() && context.is_empty("conditions") {
        let pos = context.pos_of("conditions");
        context.report(
            Code::EmptyList,
            pos,
            Some("conditions"),
            "must not be empty",
        );
    }
}
