//! Flow triggers (`io.kestra.plugin.core.trigger.Flow`), decided the way Kestra's
//! `FlowTriggerService` decides them: each time an execution changes state, every enabled Flow
//! trigger of every other enabled flow that listens to that state and whose conditions hold
//! starts an execution of its flow.
//!
//! Multiple conditions (the `preconditions` of the trigger and the deprecated `MultipleCondition`)
//! remember, per flow and condition id, which of their named conditions were met during the
//! current time window; the trigger fires once all were. Windows are kept in memory here.
//!
//! The new execution's `trigger` is `{id, type, variables}` with the variables of the execution
//! that fired it: `executionId`, `namespace`, `flowId`, `flowRevision`, `state`, and `outputs`
//! (its flow outputs, when it has some, as Kestra does since 0.22). The trigger's `inputs` are
//! rendered with the variables of the firing execution (`outputs` are its task outputs, `trigger`
//! its own trigger, plus `trigger.outputs`), then typed against the flow's inputs; inputs that do
//! not type are kept as rendered (with the defaults), as Kestra 0.21 starts such executions
//! without checking them.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use peregrine_engine::variables::{Globals, execution_variables};
use peregrine_engine::{ExecutionState, FlowPlan, NewExecution};
use peregrine_model::Flow;
use peregrine_model::conditions::{MultipleCondition, TimeWindow, TimeWindowType};
use peregrine_model::execution::{Execution, ExecutionTrigger};
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::{Condition, Label, Labels, Trigger};
use peregrine_model::triggers::{FlowTriggerSpec, UpstreamFlow};
use peregrine_plugin_api::{LogEntry, LogLevel, LogSink};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::conditions::{self, ConditionContext, ConditionError, all_met, is};

/// An execution a Flow trigger starts.
#[derive(Debug)]
pub struct Fired {
    pub namespace: String,
    pub flow_id: String,
    pub new: NewExecution,
}

/// The Flow triggers of the loaded flows, with the windows of their multiple conditions.
pub struct FlowTriggers {
    expressions: Arc<dyn Expressions>,
    globals: Globals,
    /// Where evaluation problems are reported (on the execution that was evaluated).
    logs: Arc<dyn LogSink>,
    windows: Mutex<HashMap<WindowKey, Window>>,
}

impl std::fmt::Debug for FlowTriggers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowTriggers").finish_non_exhaustive()
    }
}

/// A multiple condition's window: flow namespace, flow id, condition id.
type WindowKey = (String, String, String);

#[derive(Clone, Debug)]
struct Window {
    start: Timestamp,
    end: Timestamp,
    /// The names of the conditions met in this window.
    met: BTreeSet<String>,
}

impl Window {
    /// Open at `now`. Kestra excludes the start instant too, which makes a window created on
    /// an exact second unusable for that evaluation; it is included here.
    fn is_valid(&self, now: Timestamp) -> bool {
        self.start <= now && now < self.end
    }
}

/// A set of named conditions that must all be met within a time window.
struct Multiple {
    id: String,
    time_window: TimeWindow,
    reset_on_success: bool,
    conditions: Vec<(String, Named)>,
}

/// One named condition of a multiple condition.
enum Named {
    Condition(Box<Condition>),
    Upstream(UpstreamFlow),
    Filter(ExecutionFilter),
}

/// A `where` entry of the preconditions.
#[derive(Clone, Debug, Deserialize)]
struct ExecutionFilter {
    id: String,
    #[serde(default)]
    operand: Option<Operand>,
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
enum Operand {
    And,
    Or,
}

#[derive(Clone, Debug, Deserialize)]
struct Filter {
    field: Field,
    #[serde(rename = "type")]
    filter_type: FilterType,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    values: Option<Vec<Value>>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Field {
    FlowId,
    Namespace,
    State,
    Expression,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum FilterType {
    EqualTo,
    NotEqualTo,
    In,
    NotIn,
    IsTrue,
    IsFalse,
    IsNull,
    IsNotNull,
    StartsWith,
    EndsWith,
    Regex,
    Contains,
}

/// A Flow trigger whose states and plain conditions accept the execution.
struct Candidate<'a> {
    flow: &'a Flow,
    trigger: &'a Trigger,
    spec: FlowTriggerSpec,
    variables: Value,
    /// The deprecated MultipleCondition entries of `conditions`, then the preconditions.
    multiples: Vec<Multiple>,
    has_preconditions: bool,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn uid(flow: &Flow) -> WindowKey {
    (flow.namespace.clone(), flow.id.clone(), String::new())
}

impl FlowTriggers {
    pub fn new(
        expressions: Arc<dyn Expressions>,
        globals: Globals,
        logs: Arc<dyn LogSink>,
    ) -> Self {
        Self {
            expressions,
            globals,
            logs,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The executions the Flow triggers of `plans` start now that `execution` changed state.
    pub fn evaluate(
        &self,
        execution: &Execution,
        plans: &HashMap<String, Arc<FlowPlan>>,
        now: Timestamp,
    ) -> Vec<Fired> {
        let mut sorted: Vec<(&String, &Arc<FlowPlan>)> = plans.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut state: Option<ExecutionState> = None;
        let mut candidates = Vec::new();
        for (_, plan) in sorted {
            let flow = plan.flow.as_ref();
            // No flow triggers itself.
            if flow.disabled
                || flow.deleted
                || (flow.namespace == execution.namespace && flow.id == execution.flow_id)
            {
                continue;
            }
            for trigger in &flow.triggers {
                if trigger.common.disabled || !is::<FlowTriggerSpec>(&trigger.common.type_name) {
                    continue;
                }
                let state = state.get_or_insert_with(|| {
                    ExecutionState::new(execution.clone(), Default::default(), Default::default())
                });
                if let Some(candidate) = self.candidate(plan, trigger, execution, state) {
                    candidates.push(candidate);
                }
            }
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        let Ok(mut windows) = self.windows.lock() else {
            return Vec::new();
        };
        // Record which named conditions this execution meets, in each open window.
        let mut recorded: Vec<(WindowKey, Vec<String>)> = Vec::new();
        for candidate in &candidates {
            for multiple in &candidate.multiples {
                let mut key = uid(candidate.flow);
                key.2.clone_from(&multiple.id);
                let window = match windows.get(&key).filter(|window| window.is_valid(now)) {
                    Some(window) => window.clone(),
                    None => match new_window(&multiple.time_window, now) {
                        Ok(window) => window,
                        Err(message) => {
                            self.warn(execution, candidate, &message);
                            continue;
                        }
                    },
                };
                if !window.is_valid(now) {
                    continue;
                }
                let mut window = window;
                for (name, named) in &multiple.conditions {
                    match self.test_named(named, candidate, execution) {
                        Ok(true) => {
                            window.met.insert(name.clone());
                        }
                        Ok(false) => {}
                        Err(error) => self.warn(execution, candidate, &error.to_string()),
                    }
                }
                if !window.met.is_empty() {
                    windows.insert(key.clone(), window);
                    if multiple.reset_on_success {
                        let names = multiple.conditions.iter().map(|(name, _)| name.clone());
                        recorded.push((key, names.collect()));
                    }
                }
            }
        }
        // Fire the triggers whose multiple conditions are all met.
        let mut fired = Vec::new();
        for candidate in &candidates {
            let met: HashMap<String, BTreeSet<String>> = candidate
                .multiples
                .iter()
                .filter_map(|multiple| {
                    let mut key = uid(candidate.flow);
                    key.2.clone_from(&multiple.id);
                    windows
                        .get(&key)
                        .map(|window| (multiple.id.clone(), window.met.clone()))
                })
                .collect();
            let context = ConditionContext {
                flow: candidate.flow,
                execution: Some(execution),
                variables: &candidate.variables,
                expressions: self.expressions.as_ref(),
                windows: Some(&met),
            };
            let mut valid = true;
            for condition in candidate
                .trigger
                .common
                .conditions
                .iter()
                .filter(|condition| is::<MultipleCondition>(&condition.common.type_name))
            {
                match conditions::test(condition, &context) {
                    Ok(true) => {}
                    Ok(false) => valid = false,
                    Err(error) => {
                        self.warn(execution, candidate, &error.to_string());
                        valid = false;
                    }
                }
            }
            if candidate.has_preconditions
                && let Some(preconditions) = candidate.multiples.last()
                && !all_met(
                    met.get(&preconditions.id),
                    preconditions.conditions.iter().map(|(name, _)| name),
                )
            {
                valid = false;
            }
            if !valid {
                continue;
            }
            match self.fire(candidate, execution) {
                Ok(new) => fired.push(new),
                Err(message) => self.warn(execution, candidate, &message),
            }
        }
        // Windows whose conditions were all met start over (unless `resetOnSuccess: false`);
        // expired windows are dropped.
        for (key, names) in recorded {
            if all_met(windows.get(&key).map(|window| &window.met), names.iter()) {
                windows.remove(&key);
            }
        }
        windows.retain(|_, window| window.end >= now);
        fired
    }

    /// The trigger as a candidate when the execution's state and the trigger's plain conditions
    /// accept it.
    fn candidate<'a>(
        &self,
        plan: &'a FlowPlan,
        trigger: &'a Trigger,
        execution: &Execution,
        state: &ExecutionState,
    ) -> Option<Candidate<'a>> {
        let flow = plan.flow.as_ref();
        let spec: FlowTriggerSpec = match trigger.spec() {
            Ok(spec) => spec,
            Err(error) => {
                self.warn_flow(execution, flow, trigger, &error.to_string());
                return None;
            }
        };
        let current = execution.state.current;
        let listens = if spec.states.is_empty() {
            current.is_terminated()
        } else {
            spec.states.contains(&current)
        };
        if !listens {
            return None;
        }
        // The variables of the firing execution, seen from the triggered flow (`flow`, `vars`).
        let mut variables = execution_variables(plan, state, &self.globals);
        variables.insert(
            "flow".into(),
            json!({"id": flow.id, "namespace": flow.namespace, "revision": flow.revision.unwrap_or(1)}),
        );
        let variables = Value::Object(variables);
        let context = ConditionContext {
            flow,
            execution: Some(execution),
            variables: &variables,
            expressions: self.expressions.as_ref(),
            windows: None,
        };
        for condition in trigger
            .common
            .conditions
            .iter()
            .filter(|condition| !is::<MultipleCondition>(&condition.common.type_name))
        {
            match conditions::test(condition, &context) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => {
                    self.warn_flow(execution, flow, trigger, &error.to_string());
                    return None;
                }
            }
        }
        let (multiples, has_preconditions) = match multiples(trigger, &spec) {
            Ok(found) => found,
            Err(message) => {
                self.warn_flow(execution, flow, trigger, &message);
                return None;
            }
        };
        Some(Candidate {
            flow,
            trigger,
            spec,
            variables,
            multiples,
            has_preconditions,
        })
    }

    fn test_named(
        &self,
        named: &Named,
        candidate: &Candidate<'_>,
        execution: &Execution,
    ) -> Result<bool, ConditionError> {
        match named {
            Named::Condition(condition) => {
                let context = ConditionContext {
                    flow: candidate.flow,
                    execution: Some(execution),
                    variables: &candidate.variables,
                    expressions: self.expressions.as_ref(),
                    windows: None,
                };
                conditions::test(condition, &context)
            }
            Named::Upstream(upstream) => Ok(upstream_matches(upstream, execution)),
            Named::Filter(filter) => {
                let mut results = filter
                    .filters
                    .iter()
                    .map(|one| self.filter_matches(one, candidate, execution));
                match filter.operand.unwrap_or(Operand::And) {
                    Operand::And => {
                        for result in results {
                            if !result? {
                                return Ok(false);
                            }
                        }
                        Ok(true)
                    }
                    Operand::Or => results.try_fold(false, |any, result| Ok(any || result?)),
                }
            }
        }
    }

    fn filter_matches(
        &self,
        filter: &Filter,
        candidate: &Candidate<'_>,
        execution: &Execution,
    ) -> Result<bool, ConditionError> {
        let value = filter.value.as_ref().map(text);
        let missing = || ConditionError::Invalid("the filter has no value".into());
        let field = match filter.field {
            Field::FlowId => execution.flow_id.clone(),
            Field::Namespace => execution.namespace.clone(),
            Field::State => text(&json!(execution.state.current)),
            Field::Expression => {
                let template = value.clone().ok_or_else(missing)?;
                self.expressions
                    .render_string(&template, &candidate.variables)
                    .map_err(|message| ConditionError::Render { template, message })?
            }
        };
        let values: Vec<String> = filter.values.iter().flatten().map(text).collect();
        let value = || value.clone().ok_or_else(missing);
        Ok(match filter.filter_type {
            FilterType::EqualTo => value()? == field,
            FilterType::NotEqualTo => value()? != field,
            FilterType::In => values.contains(&field),
            FilterType::NotIn => !values.contains(&field),
            FilterType::IsTrue => peregrine_engine::expressions::is_truthy(&Value::String(field)),
            FilterType::IsFalse => !peregrine_engine::expressions::is_truthy(&Value::String(field)),
            // The field always has a value here.
            FilterType::IsNull => false,
            FilterType::IsNotNull => true,
            FilterType::StartsWith => field.starts_with(&value()?),
            FilterType::EndsWith => field.ends_with(&value()?),
            FilterType::Contains => field.contains(&value()?),
            FilterType::Regex => {
                let pattern = format!("^(?:{})$", value()?);
                regex::Regex::new(&pattern)
                    .map_err(|error| ConditionError::Invalid(error.to_string()))?
                    .is_match(&field)
            }
        })
    }

    /// The new execution: trigger variables, labels, inputs.
    fn fire(&self, candidate: &Candidate<'_>, execution: &Execution) -> Result<Fired, String> {
        let flow = candidate.flow;
        let trigger = candidate.trigger;
        let outputs = execution
            .outputs
            .as_ref()
            .filter(|outputs| !outputs.is_empty());
        let mut variables = Map::new();
        variables.insert("executionId".into(), json!(execution.id));
        variables.insert("namespace".into(), json!(execution.namespace));
        variables.insert("flowId".into(), json!(execution.flow_id));
        variables.insert("flowRevision".into(), json!(execution.flow_revision));
        variables.insert("state".into(), json!(execution.state.current));
        if let Some(outputs) = outputs {
            variables.insert("outputs".into(), Value::Object(outputs.clone()));
        }
        let mut context = candidate.variables.clone();
        if let Some(outputs) = outputs {
            conditions::with_trigger_outputs(&mut context, outputs);
        }
        let invalid = |message: String| {
            format!(
                "Failed to trigger flow {}.{} for trigger {}, invalid inputs: {message}",
                flow.namespace, flow.id, trigger.common.id
            )
        };
        let rendered = match &candidate.spec.inputs {
            Some(inputs) => match self.render_tree(&Value::Object(inputs.clone()), &context) {
                Ok(Value::Object(rendered)) => rendered,
                Ok(_) => Map::new(),
                Err(message) => return Err(invalid(message)),
            },
            None => Map::new(),
        };
        let inputs = peregrine_engine::inputs::typed_inputs(flow, &rendered)
            .unwrap_or_else(|_| peregrine_engine::inputs::with_defaults(flow, rendered));
        let labels = match &trigger.common.labels {
            Some(labels) => {
                let labels: Labels =
                    serde_json::from_value(labels.clone()).map_err(|error| error.to_string())?;
                labels
                    .0
                    .into_iter()
                    .map(|label| {
                        let value = self
                            .expressions
                            .render_string(&label.value, &context)
                            .map_err(|message| format!("label '{}': {message}", label.key))?;
                        Ok(Label {
                            key: label.key,
                            value,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?
            }
            None => Vec::new(),
        };
        Ok(Fired {
            namespace: flow.namespace.clone(),
            flow_id: flow.id.clone(),
            new: NewExecution {
                inputs,
                labels,
                trigger: Some(ExecutionTrigger {
                    id: trigger.common.id.clone(),
                    type_name: trigger.common.type_name.clone(),
                    variables: Some(variables),
                }),
                ..NewExecution::default()
            },
        })
    }

    /// Renders every string of a value, keeping the type of `{{ expr }}` templates.
    fn render_tree(&self, value: &Value, variables: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(template) if peregrine_model::property::is_expression(template) => {
                self.expressions.render(template, variables)?
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.render_tree(item, variables))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut rendered = Map::new();
                for (key, item) in map {
                    rendered.insert(key.clone(), self.render_tree(item, variables)?);
                }
                Value::Object(rendered)
            }
            other => other.clone(),
        })
    }

    fn warn(&self, execution: &Execution, candidate: &Candidate<'_>, message: &str) {
        self.warn_flow(execution, candidate.flow, candidate.trigger, message);
    }

    /// Reports a problem met while evaluating a trigger, on the execution evaluated.
    fn warn_flow(&self, execution: &Execution, flow: &Flow, trigger: &Trigger, message: &str) {
        self.logs.emit(LogEntry {
            namespace: execution.namespace.clone(),
            flow_id: execution.flow_id.clone(),
            execution_id: execution.id.clone(),
            task_id: None,
            task_run_id: None,
            attempt_number: None,
            timestamp: Timestamp::now(),
            level: LogLevel::Warn,
            message: format!(
                "[namespace: {}] [flow: {}] [trigger: {}] {message}",
                flow.namespace, flow.id, trigger.common.id
            ),
        });
    }
}

/// The multiple conditions of a trigger: its deprecated MultipleCondition entries, then its
/// preconditions (named `condition_1`... for `flows`, `condition_<n>_<id>` for `where`, as in
/// Kestra). The flag tells whether the last one is the preconditions.
fn multiples(trigger: &Trigger, spec: &FlowTriggerSpec) -> Result<(Vec<Multiple>, bool), String> {
    let mut found = Vec::new();
    for condition in &trigger.common.conditions {
        if !is::<MultipleCondition>(&condition.common.type_name) {
            continue;
        }
        let multiple: MultipleCondition = condition.spec().map_err(|error| error.to_string())?;
        let mut time_window = multiple.time_window.clone().unwrap_or(TimeWindow {
            window_type: None,
            deadline: None,
            window: None,
            window_advance: None,
            start_time: None,
            end_time: None,
        });
        if let Some(window) = multiple.window {
            time_window.window = Some(window);
        }
        if let Some(advance) = multiple.window_advance {
            time_window.window_advance = Some(advance);
        }
        found.push(Multiple {
            id: condition.common.id.clone().unwrap_or_default(),
            time_window,
            reset_on_success: multiple.reset_on_success.unwrap_or(true),
            conditions: multiple
                .conditions
                .into_iter()
                .map(|(name, condition)| (name, Named::Condition(Box::new(condition))))
                .collect(),
        });
    }
    let Some(preconditions) = &spec.preconditions else {
        return Ok((found, false));
    };
    let time_window = match &preconditions.time_window {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|error| format!("invalid timeWindow: {error}"))?,
        None => TimeWindow {
            window_type: None,
            deadline: None,
            window: None,
            window_advance: None,
            start_time: None,
            end_time: None,
        },
    };
    let filters: Vec<ExecutionFilter> = match &preconditions.filters {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|error| format!("invalid where: {error}"))?,
        None => Vec::new(),
    };
    let mut conditions = Vec::new();
    let mut number = 0;
    for upstream in &preconditions.flows {
        number += 1;
        conditions.push((
            format!("condition_{number}"),
            Named::Upstream(upstream.clone()),
        ));
    }
    for filter in filters {
        number += 1;
        conditions.push((
            format!("condition_{number}_{}", filter.id),
            Named::Filter(filter),
        ));
    }
    found.push(Multiple {
        id: preconditions
            .id
            .clone()
            .unwrap_or_else(|| trigger.common.id.clone()),
        time_window,
        reset_on_success: preconditions.reset_on_success.unwrap_or(true),
        conditions,
    });
    Ok((found, true))
}

/// Kestra's `UpstreamFlowCondition`: same namespace, flow (if given), state (if given) and labels.
fn upstream_matches(upstream: &UpstreamFlow, execution: &Execution) -> bool {
    if execution.namespace != upstream.namespace {
        return false;
    }
    if upstream
        .flow_id
        .as_ref()
        .is_some_and(|flow_id| *flow_id != execution.flow_id)
    {
        return false;
    }
    if !upstream.states.is_empty() && !upstream.states.contains(&execution.state.current) {
        return false;
    }
    match &upstream.labels {
        Some(Value::Object(labels)) => labels.iter().all(|(key, value)| {
            let value = text(value);
            execution
                .labels
                .iter()
                .any(|label| label.key == *key && label.value == value)
        }),
        _ => true,
    }
}

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

fn millis(duration: peregrine_model::Duration) -> i64 {
    i64::try_from(duration.as_std().as_millis()).unwrap_or(i64::MAX)
}

fn time_of_day_ms(text: Option<&str>, name: &str) -> Result<i64, String> {
    let text = text.ok_or_else(|| format!("timeWindow.{name} is required for this window type"))?;
    let time: jiff::civil::Time = text
        .parse()
        .map_err(|error| format!("timeWindow.{name}: {error}"))?;
    Ok(i64::from(time.hour()) * HOUR_MS
        + i64::from(time.minute()) * MINUTE_MS
        + i64::from(time.second()) * SECOND_MS)
}

/// A fresh window around `now` (UTC), computed as Kestra's `MultipleConditionStorage#getOrCreate`.
fn new_window(time_window: &TimeWindow, now: Timestamp) -> Result<Window, String> {
    let window_ms = time_window.window.map_or(DAY_MS, millis);
    // Kestra works on the current second.
    let now_ms = now.as_second() * SECOND_MS;
    let midnight = now_ms - now_ms.rem_euclid(DAY_MS);
    let (start, end) = match time_window
        .window_type
        .unwrap_or(TimeWindowType::DurationWindow)
    {
        TimeWindowType::DurationWindow => {
            let mut start = now_ms;
            if window_ms / DAY_MS > 0 {
                start = midnight + start.rem_euclid(HOUR_MS);
            }
            if window_ms / HOUR_MS > 0 {
                start = start - start.rem_euclid(HOUR_MS) + start.rem_euclid(MINUTE_MS);
            }
            let minutes = window_ms / MINUTE_MS;
            if minutes > 0 {
                let minute = start.rem_euclid(HOUR_MS) / MINUTE_MS;
                start =
                    start - start.rem_euclid(HOUR_MS) + minutes * (minute / minutes) * MINUTE_MS;
            }
            start += time_window.window_advance.map_or(0, millis);
            (start, start + window_ms - 1)
        }
        TimeWindowType::SlidingWindow => (now_ms, now_ms + window_ms),
        TimeWindowType::DailyTimeWindow => (
            midnight + time_of_day_ms(time_window.start_time.as_deref(), "startTime")?,
            midnight + time_of_day_ms(time_window.end_time.as_deref(), "endTime")?,
        ),
        TimeWindowType::DailyTimeDeadline => (
            midnight,
            midnight + time_of_day_ms(time_window.deadline.as_deref(), "deadline")?,
        ),
    };
    let at = |ms: i64| Timestamp::from_millisecond(ms).map_err(|error| error.to_string());
    Ok(Window {
        start: at(start)?,
        end: at(end)?,
        met: BTreeSet::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(value: Value, now: &str) -> (String, String) {
        let time_window: TimeWindow = serde_json::from_value(value).expect("a time window");
        let now: Timestamp = now.parse().expect("a timestamp");
        let window = new_window(&time_window, now).expect("a window");
        (window.start.to_string(), window.end.to_string())
    }

    #[test]
    fn windows_follow_kestra() {
        let now = "2024-06-08T10:17:42.5Z";
        assert_eq!(
            window(json!({}), now),
            (
                "2024-06-08T00:00:00Z".into(),
                "2024-06-08T23:59:59.999Z".into()
            )
        );
        assert_eq!(
            window(json!({"window": "PT10M"}), now),
            (
                "2024-06-08T10:10:00Z".into(),
                "2024-06-08T10:19:59.999Z".into()
            )
        );
        assert_eq!(
            window(json!({"window": "PT6H", "windowAdvance": "PT1H"}), now),
            (
                "2024-06-08T11:00:00Z".into(),
                "2024-06-08T16:59:59.999Z".into()
            )
        );
        assert_eq!(
            window(json!({"type": "SLIDING_WINDOW", "window": "PT1H"}), now),
            ("2024-06-08T10:17:42Z".into(), "2024-06-08T11:17:42Z".into())
        );
        assert_eq!(
            window(
                json!({"type": "DAILY_TIME_WINDOW", "startTime": "06:00:00", "endTime": "09:00:00"}),
                now
            ),
            ("2024-06-08T06:00:00Z".into(), "2024-06-08T09:00:00Z".into())
        );
        assert_eq!(
            window(
                json!({"type": "DAILY_TIME_DEADLINE", "deadline": "11:00:00"}),
                now
            ),
            ("2024-06-08T00:00:00Z".into(), "2024-06-08T11:00:00Z".into())
        );
    }

    #[test]
    fn upstream_flows_match_namespace_flow_states_and_labels() {
        let execution: Execution = serde_json::from_value(json!({
            "id": "e", "namespace": "a.b", "flowId": "f", "flowRevision": 1,
            "state": {"current": "SUCCESS", "histories": []},
            "labels": [{"key": "some", "value": "label"}],
            "metadata": {"attemptNumber": 1, "originalCreatedDate": "2024-01-01T00:00:00Z"},
        }))
        .expect("an execution");
        let upstream = |value: Value| -> UpstreamFlow {
            serde_json::from_value(value).expect("an upstream flow")
        };
        assert!(upstream_matches(
            &upstream(json!({"namespace": "a.b"})),
            &execution
        ));
        assert!(!upstream_matches(
            &upstream(json!({"namespace": "a"})),
            &execution
        ));
        assert!(upstream_matches(
            &upstream(
                json!({"namespace": "a.b", "flowId": "f", "states": ["SUCCESS"], "labels": {"some": "label"}})
            ),
            &execution
        ));
        assert!(!upstream_matches(
            &upstream(json!({"namespace": "a.b", "states": ["FAILED"]})),
            &execution
        ));
        assert!(!upstream_matches(
            &upstream(json!({"namespace": "a.b", "labels": {"some": "other"}})),
            &execution
        ));
    }
}
