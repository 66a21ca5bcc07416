//! Evaluates trigger conditions (`io.kestra.plugin.core.condition.*`) as Kestra's
//! `Condition#test` does: against the flow holding the trigger, the execution that fired it (for
//! Flow triggers) and the variables expressions see.
//!
//! A condition that cannot be evaluated (no execution, an expression that does not render, a date
//! that does not parse, a type this build does not know) is an error; callers count it as false
//! and report it, as Kestra logs it.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::fmt::temporal::Pieces;
use jiff::tz::Offset;
use peregrine_model::PluginSpec;
use peregrine_model::conditions::{
    DateTimeBetweenCondition, DayInMonth, DayOfWeek, DayWeekCondition, DayWeekInMonthCondition,
    ExecutionFlowCondition, ExecutionLabelsCondition, ExecutionNamespaceCondition,
    ExecutionOutputsCondition, ExecutionStatusCondition, ExpressionCondition, FlowCondition,
    FlowNamespaceCondition, HasRetryAttemptCondition, MultipleCondition, NamespaceComparison,
    NotCondition, OrCondition, TimeBetweenCondition, WeekendCondition,
};
use peregrine_model::execution::Execution;
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::Condition;
use peregrine_model::state::State;
use peregrine_model::{Flow, Property};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a condition could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConditionError {
    #[error("invalid condition '{type_name}': {message}")]
    Spec { type_name: String, message: String },
    #[error("cannot render '{template}': {message}")]
    Render { template: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("condition type '{0}' cannot be evaluated by this build")]
    Unsupported(String),
}

/// What a condition is tested against.
pub struct ConditionContext<'a> {
    /// The flow holding the trigger.
    pub flow: &'a Flow,
    /// The execution that fired the trigger, if any.
    pub execution: Option<&'a Execution>,
    /// The variables expressions are rendered with.
    pub variables: &'a Value,
    pub expressions: &'a dyn Expressions,
    /// The windows of the flow's multiple conditions: condition id to the names met in the
    /// current window. `None` when multiple conditions cannot be evaluated here.
    pub windows: Option<&'a HashMap<String, BTreeSet<String>>>,
}

impl ConditionContext<'_> {
    fn execution(&self) -> Result<&Execution, ConditionError> {
        self.execution
            .ok_or_else(|| ConditionError::Invalid("Invalid condition with null execution".into()))
    }

    fn render(&self, template: &str, variables: &Value) -> Result<String, ConditionError> {
        self.expressions
            .render_string(template, variables)
            .map_err(|message| ConditionError::Render {
                template: template.to_string(),
                message,
            })
    }

    /// A typed property: a literal, or an expression rendered then read as JSON (or text).
    fn property<T: DeserializeOwned + Clone>(
        &self,
        property: &Property<T>,
    ) -> Result<T, ConditionError> {
        match property {
            Property::Value(value) => Ok(value.clone()),
            Property::Expression(template) => {
                let text = self.render(template, self.variables)?;
                let value = serde_json::from_str(text.trim()).unwrap_or(Value::String(text));
                serde_json::from_value(value).map_err(|error| ConditionError::Render {
                    template: template.clone(),
                    message: error.to_string(),
                })
            }
        }
    }
}

/// True when `type_name` names the condition `S` (its type or one of its aliases).
pub fn is<S: PluginSpec>(type_name: &str) -> bool {
    type_name == S::TYPE || S::ALIASES.contains(&type_name)
}

fn spec<S: DeserializeOwned>(condition: &Condition) -> Result<S, ConditionError> {
    condition.spec().map_err(|error| ConditionError::Spec {
        type_name: condition.common.type_name.clone(),
        message: error.to_string(),
    })
}

/// Kestra's reading of a rendered condition: false when blank or `false`, true otherwise.
fn rendered_true(text: &str) -> bool {
    let text = text.trim();
    !(text.is_empty() || text == "false")
}

/// Tests one condition.
pub fn test(condition: &Condition, context: &ConditionContext<'_>) -> Result<bool, ConditionError> {
    let type_name = condition.common.type_name.as_str();
    if is::<ExecutionFlowCondition>(type_name) {
        let spec: ExecutionFlowCondition = spec(condition)?;
        let execution = context.execution()?;
        Ok(execution.namespace == spec.namespace && execution.flow_id == spec.flow_id)
    } else if is::<ExecutionNamespaceCondition>(type_name) {
        let spec: ExecutionNamespaceCondition = spec(condition)?;
        let execution = context.execution()?;
        let comparison = match &spec.comparison {
            Some(comparison) => context.property(comparison)?,
            None => match &spec.prefix {
                Some(prefix) if context.property(prefix)? => NamespaceComparison::Prefix,
                _ => NamespaceComparison::Equals,
            },
        };
        let namespace = execution.namespace.as_str();
        Ok(match comparison {
            NamespaceComparison::Equals => namespace == spec.namespace,
            NamespaceComparison::Prefix => namespace.starts_with(&spec.namespace),
            NamespaceComparison::Suffix => namespace.ends_with(&spec.namespace),
        })
    } else if is::<ExecutionStatusCondition>(type_name) {
        let spec: ExecutionStatusCondition = spec(condition)?;
        let current = context.execution()?.state.current;
        states_match(
            context,
            current,
            spec.in_states.as_ref(),
            spec.not_in.as_ref(),
        )
    } else if is::<ExecutionLabelsCondition>(type_name) {
        let spec: ExecutionLabelsCondition = spec(condition)?;
        let execution = context.execution()?;
        Ok(spec.labels.0.iter().all(|label| {
            execution
                .labels
                .iter()
                .any(|own| own.key == label.key && own.value == label.value)
        }))
    } else if is::<ExecutionOutputsCondition>(type_name) {
        let spec: ExecutionOutputsCondition = spec(condition)?;
        let execution = context.execution()?;
        let Some(outputs) = execution
            .outputs
            .as_ref()
            .filter(|outputs| !outputs.is_empty())
        else {
            return Ok(false);
        };
        let mut variables = context.variables.clone();
        with_trigger_outputs(&mut variables, outputs);
        Ok(rendered_true(
            &context.render(&spec.expression, &variables)?,
        ))
    } else if is::<HasRetryAttemptCondition>(type_name) {
        let spec: HasRetryAttemptCondition = spec(condition)?;
        let execution = context.execution()?;
        for run in execution
            .task_run_list
            .iter()
            .filter(|run| run.attempts.len() > 1)
        {
            for attempt in &run.attempts {
                let state = attempt.state.current;
                if states_match(
                    context,
                    state,
                    spec.in_states.as_ref(),
                    spec.not_in.as_ref(),
                )? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    } else if is::<ExpressionCondition>(type_name) {
        let spec: ExpressionCondition = spec(condition)?;
        Ok(rendered_true(
            &context.render(&spec.expression, context.variables)?,
        ))
    } else if is::<NotCondition>(type_name) {
        let spec: NotCondition = spec(condition)?;
        for inner in &spec.conditions {
            if test(inner, context)? {
                return Ok(false);
            }
        }
        Ok(true)
    } else if is::<OrCondition>(type_name) {
        let spec: OrCondition = spec(condition)?;
        for inner in &spec.conditions {
            if test(inner, context)? {
                return Ok(true);
            }
        }
        Ok(false)
    } else if is::<FlowCondition>(type_name) {
        let spec: FlowCondition = spec(condition)?;
        Ok(context.flow.namespace == spec.namespace && context.flow.id == spec.flow_id)
    } else if is::<FlowNamespaceCondition>(type_name) {
        let spec: FlowNamespaceCondition = spec(condition)?;
        let prefix = match &spec.prefix {
            Some(prefix) => context.property(prefix)?,
            None => false,
        };
        Ok(if prefix {
            context.flow.namespace.starts_with(&spec.namespace)
        } else {
            context.flow.namespace == spec.namespace
        })
    } else if is::<MultipleCondition>(type_name) {
        let spec: MultipleCondition = spec(condition)?;
        let id = condition.common.id.as_deref().unwrap_or_default();
        let windows = context.windows.ok_or_else(|| {
            ConditionError::Invalid("multiple conditions cannot be evaluated here".into())
        })?;
        Ok(all_met(windows.get(id), spec.conditions.keys()))
    } else if is::<DayWeekCondition>(type_name) {
        let spec: DayWeekCondition = spec(condition)?;
        let date = local_date(&date_text(context, spec.date.as_deref())?)?;
        Ok(date.weekday() == weekday(context.property(&spec.day_of_week)?))
    } else if is::<WeekendCondition>(type_name) {
        let spec: WeekendCondition = spec(condition)?;
        let date = local_date(&date_text(context, spec.date.as_deref())?)?;
        Ok(matches!(
            date.weekday(),
            Weekday::Saturday | Weekday::Sunday
        ))
    } else if is::<DayWeekInMonthCondition>(type_name) {
        let spec: DayWeekInMonthCondition = spec(condition)?;
        let date = local_date(&date_text(context, spec.date.as_deref())?)?;
        let day = weekday(context.property(&spec.day_of_week)?);
        let nth = match context.property(&spec.day_in_month)? {
            DayInMonth::First => 1,
            DayInMonth::Second => 2,
            DayInMonth::Third => 3,
            DayInMonth::Fourth => 4,
            DayInMonth::Last => -1,
        };
        let computed = date
            .nth_weekday_of_month(nth, day)
            .map_err(|error| ConditionError::Invalid(error.to_string()))?;
        Ok(computed == date)
    } else if is::<DateTimeBetweenCondition>(type_name) {
        let spec: DateTimeBetweenCondition = spec(condition)?;
        let (current, _, _) = zoned(&date_text(context, spec.date.as_deref())?)?;
        let after = spec.after.as_deref().map(zoned).transpose()?;
        let before = spec.before.as_deref().map(zoned).transpose()?;
        between(
            current,
            after.map(|(instant, _, _)| instant),
            before.map(|(instant, _, _)| instant),
        )
    } else if is::<TimeBetweenCondition>(type_name) {
        let spec: TimeBetweenCondition = spec(condition)?;
        let (_, time, offset) = zoned(&date_text(context, spec.date.as_deref())?)?;
        let after = spec.after.as_deref().map(offset_time).transpose()?;
        let before = spec.before.as_deref().map(offset_time).transpose()?;
        between(offset_time_nanos(time, offset), after, before)
    } else {
        Err(ConditionError::Unsupported(type_name.to_string()))
    }
}

/// True when every name was met in the window.
pub fn all_met<'a>(
    met: Option<&BTreeSet<String>>,
    mut names: impl Iterator<Item = &'a String>,
) -> bool {
    names.all(|name| met.is_some_and(|met| met.contains(name)))
}

/// Adds `trigger.outputs` to the variables, keeping the other `trigger` values.
pub fn with_trigger_outputs(variables: &mut Value, outputs: &serde_json::Map<String, Value>) {
    if let Value::Object(map) = variables {
        let trigger = map
            .entry("trigger")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !trigger.is_object() {
            *trigger = Value::Object(serde_json::Map::new());
        }
        if let Value::Object(trigger) = trigger {
            trigger.insert("outputs".into(), Value::Object(outputs.clone()));
        }
    }
}

fn states_match(
    context: &ConditionContext<'_>,
    state: State,
    in_states: Option<&Property<Vec<State>>>,
    not_in: Option<&Property<Vec<State>>>,
) -> Result<bool, ConditionError> {
    if let Some(in_states) = in_states
        && !context.property(in_states)?.contains(&state)
    {
        return Ok(false);
    }
    if let Some(not_in) = not_in
        && context.property(not_in)?.contains(&state)
    {
        return Ok(false);
    }
    Ok(true)
}

fn between<T: PartialOrd>(
    value: T,
    after: Option<T>,
    before: Option<T>,
) -> Result<bool, ConditionError> {
    match (after, before) {
        (Some(after), Some(before)) => Ok(value > after && value < before),
        (None, Some(before)) => Ok(value < before),
        (Some(after), None) => Ok(value > after),
        (None, None) => Err(ConditionError::Invalid(
            "Invalid condition with no before nor after".into(),
        )),
    }
}

/// The date a date condition tests: `date` rendered, `{{ trigger.date }}` by default.
fn date_text(context: &ConditionContext<'_>, date: Option<&str>) -> Result<String, ConditionError> {
    context.render(date.unwrap_or("{{ trigger.date }}"), context.variables)
}

fn weekday(day: DayOfWeek) -> Weekday {
    match day {
        DayOfWeek::Monday => Weekday::Monday,
        DayOfWeek::Tuesday => Weekday::Tuesday,
        DayOfWeek::Wednesday => Weekday::Wednesday,
        DayOfWeek::Thursday => Weekday::Thursday,
        DayOfWeek::Friday => Weekday::Friday,
        DayOfWeek::Saturday => Weekday::Saturday,
        DayOfWeek::Sunday => Weekday::Sunday,
    }
}

fn invalid_date(text: &str, error: impl std::fmt::Display) -> ConditionError {
    ConditionError::Invalid(format!("cannot read '{text}' as a date: {error}"))
}

/// The calendar date of an ISO date or date-time, as written (in its own offset).
fn local_date(text: &str) -> Result<Date, ConditionError> {
    Pieces::parse(text.trim())
        .map(|pieces| pieces.date())
        .map_err(|error| invalid_date(text, error))
}

/// An ISO date-time with an offset (or a time zone): its instant, its wall-clock time and offset.
fn zoned(text: &str) -> Result<(Timestamp, Time, Offset), ConditionError> {
    let text = text.trim();
    let pieces = Pieces::parse(text).map_err(|error| invalid_date(text, error))?;
    let time = pieces
        .time()
        .ok_or_else(|| invalid_date(text, "no time of day"))?;
    let offset = match pieces.offset() {
        Some(offset) => offset.to_numeric_offset(),
        None => {
            let zoned: jiff::ZonedDateTime =
                text.parse().map_err(|error| invalid_date(text, error))?;
            zoned.offset()
        }
    };
    let instant = offset
        .to_timestamp(pieces.date().to_datetime(time))
        .map_err(|error| invalid_date(text, error))?;
    Ok((instant, time, offset))
}

/// Where a time with an offset falls on the UTC line, as Java's `OffsetTime#compareTo` sees it.
fn offset_time_nanos(time: Time, offset: Offset) -> i64 {
    let of_day =
        i64::from(time.hour()) * 3_600 + i64::from(time.minute()) * 60 + i64::from(time.second());
    (of_day - i64::from(offset.seconds())) * 1_000_000_000 + i64::from(time.subsec_nanosecond())
}

/// An ISO time with an offset (`14:00:00+02:00`, `08:30Z`).
fn offset_time(text: &str) -> Result<i64, ConditionError> {
    let text = text.trim();
    let split = text
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, '+' | '-' | 'Z' | 'z'))
        .map(|(index, _)| index)
        .ok_or_else(|| invalid_date(text, "no offset"))?;
    let (time, offset) = text.split_at(split);
    let time: Time = time.parse().map_err(|error| invalid_date(text, error))?;
    let seconds = if offset.eq_ignore_ascii_case("z") {
        0
    } else {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let parts: Vec<i32> = offset[1..]
            .split(':')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|error| invalid_date(text, error))?;
        let (hours, minutes, seconds) = match parts.as_slice() {
            [hours] => (*hours, 0, 0),
            [hours, minutes] => (*hours, *minutes, 0),
            [hours, minutes, seconds] => (*hours, *minutes, *seconds),
            _ => return Err(invalid_date(text, "bad offset")),
        };
        sign * (hours * 3_600 + minutes * 60 + seconds)
    };
    let offset = Offset::from_seconds(seconds).map_err(|error| invalid_date(text, error))?;
    Ok(offset_time_nanos(time, offset))
}

#[cfg(test)]
mod tests {
    use peregrine_model::flow::Condition;
    use serde_json::json;

    use super::*;
    use crate::PebbleSyntax;

    fn flow() -> Flow {
        serde_json::from_value(json!({
            "id": "listener", "namespace": "company.team",
            "tasks": [{"id": "t", "type": "io.kestra.plugin.core.debug.Return"}],
        }))
        .expect("a flow")
    }

    fn execution(state: &str) -> Execution {
        serde_json::from_value(json!({
            "id": "exec1", "namespace": "company.team.sub", "flowId": "upstream",
            "flowRevision": 1,
            "state": {"current": state, "histories": []},
            "labels": [{"key": "team", "value": "data"}],
            "outputs": {"rows": 3},
            "metadata": {"attemptNumber": 1, "originalCreatedDate": "2024-01-01T00:00:00Z"},
        }))
        .expect("an execution")
    }

    fn check(condition: Value, execution: &Execution) -> Result<bool, ConditionError> {
        let condition: Condition = serde_json::from_value(condition).expect("a condition");
        let flow = flow();
        let variables = json!({
            "trigger": {"date": "2024-06-08T10:15:00+02:00"},
            "labels": {"team": "data"},
        });
        let context = ConditionContext {
            flow: &flow,
            execution: Some(execution),
            variables: &variables,
            expressions: &PebbleSyntax,
            windows: None,
        };
        test(&condition, &context)
    }

    #[test]
    fn execution_conditions() {
        let success = execution("SUCCESS");
        let base = "io.kestra.plugin.core.condition.";
        let cases = [
            (
                json!({"type": format!("{base}ExecutionFlow"), "namespace": "company.team.sub", "flowId": "upstream"}),
                true,
            ),
            (
                json!({"type": format!("{base}ExecutionFlowCondition"), "namespace": "company.team", "flowId": "upstream"}),
                false,
            ),
            (
                json!({"type": format!("{base}ExecutionNamespace"), "namespace": "company.team"}),
                false,
            ),
            (
                json!({"type": format!("{base}ExecutionNamespace"), "namespace": "company.team", "prefix": true}),
                true,
            ),
            (
                json!({"type": format!("{base}ExecutionNamespace"), "namespace": ".sub", "comparison": "SUFFIX"}),
                true,
            ),
            (
                json!({"type": format!("{base}ExecutionStatus"), "in": ["SUCCESS"]}),
                true,
            ),
            (
                json!({"type": format!("{base}ExecutionStatus"), "notIn": ["SUCCESS", "FAILED"]}),
                false,
            ),
            (
                json!({"type": format!("{base}ExecutionLabels"), "labels": {"team": "data"}}),
                true,
            ),
            (
                json!({"type": format!("{base}ExecutionLabels"), "labels": [{"key": "team", "value": "ops"}]}),
                false,
            ),
            (
                json!({"type": format!("{base}ExecutionOutputs"), "expression": "{{ trigger.outputs.rows > 2 }}"}),
                true,
            ),
            (
                json!({"type": format!("{base}Expression"), "expression": "{{ labels.team == 'data' }}"}),
                true,
            ),
            (
                json!({"type": format!("{base}Not"), "conditions": [{"type": format!("{base}ExecutionStatus"), "in": ["FAILED"]}]}),
                true,
            ),
            (
                json!({"type": format!("{base}Or"), "conditions": [
                    {"type": format!("{base}ExecutionStatus"), "in": ["FAILED"]},
                    {"type": format!("{base}Expression"), "expression": "{{ true }}"},
                ]}),
                true,
            ),
            (
                json!({"type": format!("{base}HasRetryAttempt"), "in": ["FAILED"]}),
                false,
            ),
            (
                json!({"type": "io.kestra.core.models.conditions.types.FlowNamespaceCondition", "namespace": "company", "prefix": true}),
                true,
            ),
            (
                json!({"type": "io.kestra.core.models.conditions.types.FlowCondition", "namespace": "company.team", "flowId": "other"}),
                false,
            ),
        ];
        for (condition, expected) in cases {
            assert_eq!(
                check(condition.clone(), &success),
                Ok(expected),
                "{condition}"
            );
        }
    }

    #[test]
    fn date_conditions_read_the_trigger_date() {
        let success = execution("SUCCESS");
        let base = "io.kestra.plugin.core.condition.";
        let cases = [
            (json!({"type": format!("{base}Weekend")}), true),
            (
                json!({"type": format!("{base}DayWeek"), "dayOfWeek": "SATURDAY"}),
                true,
            ),
            (
                json!({"type": format!("{base}DayWeek"), "dayOfWeek": "MONDAY", "date": "2024-06-10"}),
                true,
            ),
            (
                json!({"type": format!("{base}DayWeekInMonth"), "dayOfWeek": "SATURDAY", "dayInMonth": "SECOND"}),
                true,
            ),
            (
                json!({"type": format!("{base}DayWeekInMonth"), "dayOfWeek": "SATURDAY", "dayInMonth": "LAST"}),
                false,
            ),
            (
                json!({"type": format!("{base}TimeBetween"), "after": "08:00:00Z", "before": "09:00:00Z"}),
                true,
            ),
            (
                json!({"type": format!("{base}TimeBetween"), "after": "10:00:00+02:00"}),
                true,
            ),
            (
                json!({"type": format!("{base}DateTimeBetween"), "before": "2024-06-08T08:00:00Z"}),
                false,
            ),
            (
                json!({"type": format!("{base}DateTimeBetween"), "after": "2024-06-01T00:00:00Z", "before": "2024-07-01T00:00:00Z"}),
                true,
            ),
        ];
        for (condition, expected) in cases {
            assert_eq!(
                check(condition.clone(), &success),
                Ok(expected),
                "{condition}"
            );
        }
    }

    #[test]
    fn errors_are_reported() {
        let success = execution("SUCCESS");
        let missing = json!({"type": "io.kestra.plugin.core.condition.Expression", "expression": "{{ nothing.here }}"});
        assert!(check(missing, &success).is_err());
        let holiday = json!({"type": "io.kestra.plugin.core.condition.PublicHoliday"});
        assert!(matches!(
            check(holiday, &success),
            Err(ConditionError::Unsupported(_))
        ));
        let multiple = json!({
            "type": "io.kestra.plugin.core.condition.MultipleCondition", "id": "both",
            "conditions": {"a": {"type": "io.kestra.plugin.core.condition.Expression", "expression": "{{ true }}"}},
        });
        assert!(check(multiple, &success).is_err());
    }
}
