//! Tasks the executor carries out itself because they act on executions: Labels (changes this
//! execution) and Subflow (starts another one).

use peregrine_model::execution::TaskRun;
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::{Label, Task};
use peregrine_model::state::State;
use peregrine_model::tasks::SubflowSpec;
use serde_json::{Map, Value, json};

use crate::effects::{SubflowEnded, SubflowStart};
use crate::expressions::value_text;
use crate::frames::render_property;
use crate::state::ExecutionState;

pub(crate) fn render_tree(
    expressions: &dyn Expressions,
    value: &Value,
    variables: &Value,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(template) if template.contains("{{") || template.contains("{%") => {
            expressions.render(template, variables)?
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_tree(expressions, item, variables))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut rendered = Map::new();
            for (key, item) in map {
                let key = value_text(&render_tree(
                    expressions,
                    &Value::String(key.clone()),
                    variables,
                )?);
                rendered.insert(key, render_tree(expressions, item, variables)?);
            }
            Value::Object(rendered)
        }
        other => other.clone(),
    })
}

/// Labels from a rendered value: a mapping, a list of `{key, value}`, or JSON text of either.
fn labels_of(value: Value) -> Result<Vec<Label>, String> {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => labels_of(parsed),
            _ => Err(format!(
                "labels must be a mapping or a list of key/value, got '{text}'"
            )),
        },
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(key, value)| Label {
                key,
                value: value_text(&value),
            })
            .collect()),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match (item.get("key"), item.get("value")) {
                (Some(key), Some(value)) => Ok(Label {
                    key: value_text(key),
                    value: value_text(value),
                }),
                _ => Err("a label must have a key and a value".to_string()),
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(format!(
            "labels must be a mapping or a list of key/value, got {other}"
        )),
    }
}

/// Sets a label: replaces the value of an existing key, or adds the label.
pub(crate) fn set_label(labels: &mut Vec<Label>, label: Label) {
    match labels.iter_mut().find(|existing| existing.key == label.key) {
        Some(existing) => existing.value = label.value,
        None => labels.push(label),
    }
}

/// Runs a Labels task: renders its labels and sets them on the execution.
pub(crate) fn apply_labels(
    state: &mut ExecutionState,
    task: &Task,
    variables: &Value,
    expressions: &dyn Expressions,
) -> Result<(), String> {
    let raw = task
        .properties
        .get("labels")
        .cloned()
        .unwrap_or(Value::Null);
    let labels = labels_of(render_tree(expressions, &raw, variables)?)?;
    if let Some(label) = labels.iter().find(|label| label.key.starts_with("system.")) {
        return Err(format!(
            "system labels can only be set by the server, offending label: {}",
            label.key
        ));
    }
    for label in labels {
        set_label(&mut state.execution.labels, label);
    }
    Ok(())
}

/// What to start for a Subflow task run.
pub(crate) fn subflow_start(
    state: &ExecutionState,
    spec: &SubflowSpec,
    run: &TaskRun,
    variables: &Value,
    expressions: &dyn Expressions,
    child_id: String,
) -> Result<SubflowStart, String> {
    let namespace = value_text(&render_property(expressions, &spec.namespace, variables)?);
    let flow_id = value_text(&render_property(expressions, &spec.flow_id, variables)?);
    let revision = match &spec.revision {
        Some(revision) => Some(
            value_text(&render_property(expressions, revision, variables)?)
                .parse::<u32>()
                .map_err(|_| "revision must be a whole number".to_string())?,
        ),
        None => None,
    };
    let inputs = match &spec.inputs {
        Some(inputs) => {
            match render_tree(expressions, &Value::Object(inputs.clone()), variables)? {
                Value::Object(map) => map,
                _ => Map::new(),
            }
        }
        None => Map::new(),
    };
    let execution = &state.execution;
    let mut labels: Vec<Label> = Vec::new();
    if spec.inherit_labels {
        labels.extend(
            execution
                .labels
                .iter()
                .filter(|label| !label.key.starts_with("system."))
                .cloned(),
        );
    }
    if let Some(task_labels) = &spec.labels {
        for label in &task_labels.0 {
            let value = value_text(&render_tree(
                expressions,
                &Value::String(label.value.clone()),
                variables,
            )?);
            labels.retain(|existing| existing.key != label.key);
            labels.push(Label {
                key: label.key.clone(),
                value,
            });
        }
    }
    let correlation = execution
        .labels
        .iter()
        .find(|label| label.key == "system.correlationId")
        .map_or_else(|| execution.id.clone(), |label| label.value.clone());
    labels.push(Label {
        key: "system.correlationId".into(),
        value: correlation,
    });
    let mut parent = Map::new();
    parent.insert("executionId".into(), json!(execution.id));
    parent.insert("namespace".into(), json!(execution.namespace));
    parent.insert("flowId".into(), json!(execution.flow_id));
    parent.insert("flowRevision".into(), json!(execution.flow_revision));
    Ok(SubflowStart {
        task_run_id: run.id.clone(),
        execution_id: child_id,
        namespace,
        flow_id,
        revision,
        inputs,
        labels,
        wait: spec.wait,
        parent,
    })
}

/// The parent task run's state and outputs once its subflow has ended.
pub(crate) fn subflow_result(
    spec: &SubflowSpec,
    ended: &SubflowEnded,
    variables: &Value,
    expressions: &dyn Expressions,
) -> (State, Map<String, Value>) {
    let mut state = match ended.state {
        State::Success => State::Success,
        State::Warning => State::Warning,
        State::Killed if spec.transmit_failed => State::Killed,
        State::Failed | State::Killed | State::Cancelled if spec.transmit_failed => State::Failed,
        _ => State::Success,
    };
    let mut outputs = Map::new();
    outputs.insert("executionId".into(), json!(ended.execution_id));
    outputs.insert("state".into(), json!(ended.state));
    let rendered = match &spec.outputs {
        Some(wanted) => {
            let mut child_variables = variables.clone();
            child_variables["outputs"] = Value::Object(ended.task_outputs.clone());
            match render_tree(
                expressions,
                &Value::Object(wanted.clone()),
                &child_variables,
            ) {
                Ok(value) => value,
                Err(_) => {
                    state = State::Failed;
                    Value::Object(Map::new())
                }
            }
        }
        None => Value::Object(ended.flow_outputs.clone()),
    };
    if rendered.as_object().is_some_and(|map| !map.is_empty()) {
        outputs.insert("outputs".into(), rendered);
    }
    (state, outputs)
}
