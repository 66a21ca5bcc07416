//! Compares a finished execution with what Kestra's tests assert about it.

use peregrine_model::Flow;
use peregrine_model::execution::{Execution, TaskRun};
use serde_json::{Map, Value};

use crate::inputs_check;
use crate::stored_files::Files;

/// What checks read besides the execution.
pub struct Context<'a> {
    /// Every execution of the run (children, retries, triggered ones).
    pub all: &'a [Execution],
    /// The internal-storage files the execution refers to.
    pub files: &'a Files,
    /// The flow run, and the inputs the case gave it (test-time values made).
    pub flow: &'a Flow,
    pub given: &'a Map<String, Value>,
}

/// Every mismatch, as a readable line; empty when all checked facts hold.
pub fn check(
    expect: &Map<String, Value>,
    execution: &Execution,
    context: &Context<'_>,
) -> Vec<String> {
    let all = context.all;
    let mut problems = Vec::new();
    for (key, expected) in expect {
        if expected.is_null() {
            continue;
        }
        match key.as_str() {
            "state" => {
                let actual = state_name(&execution.state.current);
                if Some(actual.as_str()) != expected.as_str() {
                    problems.push(format!("state: expected {}, got {actual}", text(expected)));
                }
            }
            "task_runs" => count(
                "task runs",
                execution.task_run_list.len(),
                expected,
                &mut problems,
            ),
            "task_states" => check_map(expected, &mut problems, |key, expected| {
                check_task_state(execution, key, expected)
            }),
            "task_attempts" => check_map(expected, &mut problems, |key, expected| {
                let Some(run) = find_run(execution, key) else {
                    return Some(format!("{key}: no such task run"));
                };
                let mut problems = Vec::new();
                count(
                    &format!("{key} attempts"),
                    run.attempts.len(),
                    expected,
                    &mut problems,
                );
                problems.into_iter().next()
            }),
            "outputs" => check_map(expected, &mut problems, |key, expected| {
                check_output(execution, key, expected, context.files)
            }),
            "task_order" => check_map(expected, &mut problems, |key, expected| {
                let actual = find_run(execution, key).map(|run| run.task_id.clone());
                (actual.as_deref() != expected.as_str())
                    .then(|| format!("{key}: expected task {}, got {actual:?}", text(expected)))
            }),
            "task_run_counts" => check_map(expected, &mut problems, |task_id, expected| {
                let actual = execution
                    .task_run_list
                    .iter()
                    .filter(|run| run.task_id == task_id)
                    .count();
                let mut problems = Vec::new();
                count(
                    &format!("task runs of {task_id}"),
                    actual,
                    expected,
                    &mut problems,
                );
                problems.into_iter().next()
            }),
            "failed_task_runs" => {
                let actual = execution
                    .task_run_list
                    .iter()
                    .filter(|run| state_name(&run.state.current) == "FAILED")
                    .count();
                count("failed task runs", actual, expected, &mut problems);
            }
            "labels" | "labels_include" | "labels_exactly" => {
                check_labels(execution, key == "labels_exactly", expected, &mut problems)
            }
            "child" => check_child(execution, context, expected, &mut problems),
            "typed_inputs" => problems.extend(inputs_check::check_typed(expected, execution)),
            "input_errors" => problems.extend(inputs_check::check_errors(
                expected,
                context.flow,
                context.given,
            )),
            "terminal_executions" => {
                let mut wanted: Vec<String> = expected
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect();
                let mut actual: Vec<String> = all
                    .iter()
                    .filter(|other| {
                        other.namespace == execution.namespace && other.flow_id == execution.flow_id
                    })
                    .map(|other| state_name(&other.state.current))
                    .collect();
                wanted.sort();
                actual.sort();
                if wanted != actual {
                    problems.push(format!(
                        "terminal executions: expected {wanted:?}, got {actual:?}"
                    ));
                }
            }
            "trigger_variables" => {
                let variables = execution
                    .trigger
                    .as_ref()
                    .and_then(|trigger| trigger.variables.as_ref());
                for (name, value) in expected.as_object().into_iter().flatten() {
                    let got = variables.and_then(|variables| variables.get(name));
                    let placeholder = value.as_str().is_some_and(|text| text.starts_with('<'));
                    if got.is_none() || !placeholder && got.map(text) != Some(text(value)) {
                        problems.push(format!(
                            "trigger variable {name} should be {}, got {got:?}",
                            text(value)
                        ));
                    }
                }
            }
            // Written in words for people: not machine-checkable.
            "logs" | "notes" => {}
            other => problems.push(format!(
                "{other}: this check is not supported by the runner yet"
            )),
        }
    }
    problems
}

fn check_map(
    expected: &Value,
    problems: &mut Vec<String>,
    mut each: impl FnMut(&str, &Value) -> Option<String>,
) {
    for (key, value) in expected.as_object().into_iter().flatten() {
        if let Some(problem) = each(key, value) {
            problems.push(problem);
        }
    }
}

fn state_name(state: &peregrine_model::state::State) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `3`, `">=2"`, `"<5"`...
fn count(what: &str, actual: usize, expected: &Value, problems: &mut Vec<String>) {
    let ok = match expected {
        Value::Number(number) => number.as_u64() == Some(actual as u64),
        Value::String(rule) => {
            let (operator, number) = rule
                .trim()
                .split_at(rule.trim().find(|c: char| c.is_ascii_digit()).unwrap_or(0));
            let number: usize = number.trim().parse().unwrap_or(usize::MAX);
            match operator.trim() {
                ">=" => actual >= number,
                ">" => actual > number,
                "<=" => actual <= number,
                "<" => actual < number,
                _ => actual == number,
            }
        }
        _ => true,
    };
    if !ok {
        problems.push(format!("{what}: expected {}, got {actual}", text(expected)));
    }
}

/// The loop values leading to a task run, outermost first.
fn value_path(execution: &Execution, run: &TaskRun) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = Some(run);
    while let Some(run) = current {
        chain.push(run.value.clone());
        current = run
            .parent_task_run_id
            .as_deref()
            .and_then(|id| execution.task_run_list.iter().find(|run| run.id == id));
    }
    chain.reverse();
    let mut path = Vec::new();
    let mut previous: Option<&Option<String>> = None;
    for value in &chain {
        if let Some(text) = value
            && previous != Some(value)
        {
            path.push(text.clone());
        }
        previous = Some(value);
    }
    path
}

/// Splits `task[v1,v2].a.b` or `taskRunList[2].a` into the task run and the rest of the path.
fn find_run_and_path<'a>(
    execution: &'a Execution,
    key: &str,
) -> Option<(&'a TaskRun, Vec<String>)> {
    let (head, rest) = split_head(key);
    let path = segments(rest);
    if let Some(index) = head
        .strip_prefix("taskRunList[")
        .and_then(|rest| rest.strip_suffix(']'))
    {
        let index: i64 = index.parse().ok()?;
        let runs = &execution.task_run_list;
        let position = if index < 0 {
            runs.len().checked_sub(index.unsigned_abs() as usize)?
        } else {
            index as usize
        };
        return runs.get(position).map(|run| (run, path));
    }
    match head.split_once('[') {
        Some((task_id, values)) => {
            let wanted: Vec<String> = values
                .trim_end_matches(']')
                .split(',')
                .map(|value| value.trim().to_string())
                .collect();
            execution
                .task_run_list
                .iter()
                .find(|run| run.task_id == task_id && value_path(execution, run) == wanted)
                .map(|run| (run, path))
        }
        None => execution
            .task_run_list
            .iter()
            .find(|run| run.task_id == head)
            .map(|run| (run, path)),
    }
}

fn find_run<'a>(execution: &'a Execution, key: &str) -> Option<&'a TaskRun> {
    find_run_and_path(execution, key).map(|(run, _)| run)
}

/// The keys of a path: `a.b['c.d'][0]` gives `a`, `b`, `c.d`, `0`.
fn segments(path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut current = String::new();
    let mut characters = path.chars().peekable();
    let flush = |current: &mut String, keys: &mut Vec<String>| {
        if !current.is_empty() {
            keys.push(std::mem::take(current));
        }
    };
    while let Some(character) = characters.next() {
        match character {
            '.' => flush(&mut current, &mut keys),
            '[' => {
                flush(&mut current, &mut keys);
                let mut inside = String::new();
                for next in characters.by_ref() {
                    if next == ']' {
                        break;
                    }
                    inside.push(next);
                }
                keys.push(inside.trim_matches(|c| c == '\'' || c == '"').to_string());
            }
            other => current.push(other),
        }
    }
    flush(&mut current, &mut keys);
    keys
}

/// The part before the first `.` that is outside brackets, and the rest.
fn split_head(key: &str) -> (&str, &str) {
    let mut depth = 0;
    for (index, character) in key.char_indices() {
        match character {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => return (&key[..index], &key[index + 1..]),
            _ => {}
        }
    }
    (key, "")
}

fn check_task_state(execution: &Execution, key: &str, expected: &Value) -> Option<String> {
    let expected_name = text(expected);
    if key == "*" {
        let wrong: Vec<&str> = execution
            .task_run_list
            .iter()
            .filter(|run| state_name(&run.state.current) != expected_name)
            .map(|run| run.task_id.as_str())
            .collect();
        return (!wrong.is_empty())
            .then(|| format!("every task run should be {expected_name}, not {wrong:?}"));
    }
    let found = find_run_and_path(execution, key);
    if expected_name == "ABSENT" {
        return found.map(|_| format!("{key}: expected no task run, found one"));
    }
    let Some((run, path)) = found else {
        return Some(format!(
            "{key}: no such task run (expected {expected_name})"
        ));
    };
    let actual = match path.first().map(String::as_str) {
        Some(attempt) if attempt.starts_with("attempts[") => {
            let index: usize = attempt
                .trim_start_matches("attempts[")
                .trim_end_matches(']')
                .parse()
                .unwrap_or(0);
            run.attempts
                .get(index)
                .map(|attempt| state_name(&attempt.state.current))
        }
        _ => Some(state_name(&run.state.current)),
    };
    (actual.as_deref() != Some(expected_name.as_str())).then(|| {
        format!(
            "{key}: expected {expected_name}, got {}",
            actual.unwrap_or_default()
        )
    })
}

fn check_output(
    execution: &Execution,
    key: &str,
    expected: &Value,
    files: &Files,
) -> Option<String> {
    let actual = if let Some(rest) = key.strip_prefix("execution.outputs") {
        execution
            .outputs
            .clone()
            .and_then(|outputs| walk(&Value::Object(outputs), &segments(rest)))
    } else if let Some(rest) = key.strip_prefix("execution.inputs") {
        walk(
            &Value::Object(execution.inputs.clone().unwrap_or_default()),
            &segments(rest),
        )
    } else {
        let Some((run, path)) = find_run_and_path(execution, key) else {
            return Some(format!("{key}: no such task run"));
        };
        let outputs = run.outputs.clone().map(Value::Object);
        if let Some(matcher) = expected
            .as_object()
            .filter(|map| map.keys().any(|key| key.starts_with("outputs_")))
        {
            return match_outputs(key, outputs.as_ref(), matcher);
        }
        outputs.and_then(|outputs| walk(&outputs, &path))
    };
    match_value(key, actual.as_ref(), expected, files)
}

fn walk(value: &Value, path: &[String]) -> Option<Value> {
    let mut current = value.clone();
    for part in path {
        current = match current {
            Value::Object(mut map) => map.remove(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?.clone(),
            _ => return None,
        };
    }
    Some(current)
}

fn match_outputs(
    key: &str,
    outputs: Option<&Value>,
    matcher: &Map<String, Value>,
) -> Option<String> {
    let size = outputs.and_then(Value::as_object).map_or(0, Map::len);
    for (name, argument) in matcher {
        let ok = match name.as_str() {
            "outputs_null" => {
                outputs.is_none_or(|outputs| outputs.as_object().is_some_and(Map::is_empty))
            }
            "outputs_not_null" => outputs.is_some(),
            "outputs_size" => argument.as_u64() == Some(size as u64),
            "outputs_equal" => outputs == Some(argument),
            _ => {
                return Some(format!(
                    "{key}: matcher {name} is not supported by the runner yet"
                ));
            }
        };
        if !ok {
            return Some(format!(
                "{key}: {name} {} failed (outputs {outputs:?})",
                text(argument)
            ));
        }
    }
    None
}

fn match_value(
    key: &str,
    actual: Option<&Value>,
    expected: &Value,
    files: &Files,
) -> Option<String> {
    if let Some(placeholder) = expected
        .as_str()
        .filter(|text| text.starts_with('<') && text.ends_with('>'))
    {
        // A value made at test time (an id, a date): check that there is one.
        let present = actual.is_some_and(|actual| !actual.is_null() && !text(actual).is_empty());
        return (!present).then(|| format!("{key}: expected {placeholder}, got nothing"));
    }
    if let Some(pattern) = expected
        .as_str()
        .filter(|text| text.contains('<') && text.contains('>'))
    {
        // Text with values made at test time inside: `<...>` stands for any text.
        let matched = actual.is_some_and(|actual| placeholder_match(pattern, &text(actual)));
        return (!matched).then(|| {
            format!(
                "{key}: expected {pattern}, got {}",
                actual.map_or("nothing".to_string(), text)
            )
        });
    }
    let Some(matcher) = expected.as_object() else {
        let equal =
            actual.is_some_and(|actual| actual == expected || text(actual) == text(expected));
        return (!equal).then(|| {
            format!(
                "{key}: expected {}, got {}",
                text(expected),
                actual.map_or("nothing".to_string(), text)
            )
        });
    };
    for (name, argument) in matcher {
        let actual_text = actual.map(text).unwrap_or_default();
        let ok = match name.as_str() {
            "contains" => actual_text.contains(&text(argument)),
            "starts_with" => actual_text.starts_with(&text(argument)),
            "ends_with" => actual_text.ends_with(&text(argument)),
            "matches" => regex::Regex::new(&format!("^(?s:{})$", text(argument)))
                .is_ok_and(|regex| regex.is_match(&actual_text)),
            "not_equal" => actual != Some(argument),
            "not_null" => actual.is_some_and(|actual| !actual.is_null()),
            "is_null" => actual.is_none_or(Value::is_null),
            "size" => actual.is_some_and(|actual| match actual {
                Value::Array(items) => argument.as_u64() == Some(items.len() as u64),
                Value::Object(map) => argument.as_u64() == Some(map.len() as u64),
                Value::String(text) => argument.as_u64() == Some(text.chars().count() as u64),
                _ => false,
            }),
            "datetime_within_seconds_of_now" => actual
                .and_then(|actual| actual.as_str()?.parse::<jiff::Timestamp>().ok())
                .is_some_and(|date| {
                    let seconds = argument.as_f64().unwrap_or(60.0);
                    jiff::Timestamp::now()
                        .duration_since(date)
                        .as_secs_f64()
                        .abs()
                        <= seconds
                }),
            "file_content" => file_text(actual, files).as_deref() == Some(&*text(argument)),
            "single_file_content" => {
                let single = actual
                    .and_then(Value::as_object)
                    .filter(|map| map.len() == 1)
                    .and_then(|map| map.values().next());
                file_text(single, files).as_deref() == Some(&*text(argument))
            }
            "has_key" => actual
                .and_then(Value::as_object)
                .is_some_and(|map| map.contains_key(&text(argument))),
            "has_items" => {
                let wanted: Vec<Value> = argument
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![argument.clone()]);
                actual
                    .and_then(Value::as_array)
                    .is_some_and(|items| wanted.iter().all(|item| items.contains(item)))
            }
            _ => {
                return Some(format!(
                    "{key}: matcher {name} is not supported by the runner yet"
                ));
            }
        };
        if !ok {
            return Some(format!(
                "{key}: {name} {} failed, got {}",
                text(argument),
                actual.map_or("nothing".to_string(), text)
            ));
        }
    }
    None
}

/// `a<x>b` matches any text that starts with `a` and ends with `b`, with text in between.
pub fn placeholder_match(pattern: &str, text: &str) -> bool {
    let mut regex = String::from("^(?s:");
    for (index, part) in pattern.split('<').enumerate() {
        let literal = if index == 0 {
            part
        } else {
            part.split_once('>').map_or(part, |(_, rest)| rest)
        };
        if index > 0 {
            regex.push_str(".+");
        }
        regex.push_str(&regex::escape(literal));
    }
    regex.push_str(")$");
    regex::Regex::new(&regex).is_ok_and(|regex| regex.is_match(text))
}

/// The text of the internal-storage file a value points to.
fn file_text(uri: Option<&Value>, files: &Files) -> Option<String> {
    let bytes = files.get(uri?.as_str()?)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

fn check_labels(
    execution: &Execution,
    exactly: bool,
    expected: &Value,
    problems: &mut Vec<String>,
) {
    let wanted: Vec<(String, String)> = expected
        .as_array()
        .into_iter()
        .flatten()
        .map(|label| (text(&label["key"]), text(&label["value"])))
        .collect();
    let actual: Vec<(String, String)> = execution
        .labels
        .iter()
        .map(|label| (label.key.clone(), label.value.clone()))
        .collect();
    for (key, value) in &wanted {
        let value = if value == "<this execution id>" {
            &execution.id
        } else {
            value
        };
        if value.starts_with('<') {
            if !actual.iter().any(|(actual_key, _)| actual_key == key) {
                problems.push(format!("label {key} missing"));
            }
            continue;
        }
        if !actual
            .iter()
            .any(|(actual_key, actual_value)| actual_key == key && actual_value == value)
        {
            problems.push(format!("label {key}={value} missing (labels: {actual:?})"));
        }
    }
    if exactly && actual.len() != wanted.len() {
        problems.push(format!(
            "expected exactly {} labels, got {actual:?}",
            wanted.len()
        ));
    }
}

/// `child`: the subflow execution this execution started (its trigger names this execution).
fn check_child(
    execution: &Execution,
    context: &Context<'_>,
    expected: &Value,
    problems: &mut Vec<String>,
) {
    let all = context.all;
    let started_by_this = |child: &&Execution| {
        child
            .trigger
            .as_ref()
            .and_then(|trigger| trigger.variables.as_ref())
            .and_then(|variables| variables.get("executionId"))
            == Some(&Value::String(execution.id.clone()))
    };
    let flow = expected
        .get("flow")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(child) = all
        .iter()
        .filter(started_by_this)
        .find(|child| flow.is_empty() || format!("{}/{}", child.namespace, child.flow_id) == flow)
    else {
        problems.push(format!(
            "child: no execution of {flow} was started by this one"
        ));
        return;
    };
    let mut rules = Map::new();
    for key in [
        "state",
        "task_runs",
        "labels_include",
        "labels_exactly",
        "task_states",
        "outputs",
    ] {
        if let Some(value) = expected.get(key) {
            rules.insert(key.to_string(), value.clone());
        }
    }
    for problem in check(&rules, child, context) {
        problems.push(format!("child: {problem}"));
    }
    if let Some(size) = expected.get("labels_size").and_then(Value::as_u64)
        && child.labels.len() as u64 != size
    {
        problems.push(format!(
            "child: expected {size} labels, got {:?}",
            child.labels
        ));
    }
    if let Some(trigger) = expected.get("trigger") {
        let actual = child.trigger.as_ref();
        if let Some(type_name) = trigger.get("type").and_then(Value::as_str)
            && actual.map(|trigger| trigger.type_name.as_str()) != Some(type_name)
        {
            problems.push(format!("child: trigger type should be {type_name}"));
        }
        for (key, value) in trigger
            .get("variables")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let got = actual
                .and_then(|trigger| trigger.variables.as_ref())
                .and_then(|variables| variables.get(key));
            let placeholder = value.as_str().is_some_and(|text| text.starts_with('<'));
            if got.is_none() || !placeholder && got.map(text) != Some(text(value)) {
                problems.push(format!(
                    "child: trigger variable {key} should be {}",
                    text(value)
                ));
            }
        }
    }
}
