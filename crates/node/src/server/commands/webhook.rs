//! A call of `/api/v1/executions/webhook/{namespace}/{flowId}/{key}`, resolved as Kestra's
//! `ExecutionController#webhook` does: the first Webhook trigger whose rendered key is the
//! call's, the request as `trigger.body`/`trigger.headers`/`trigger.parameters`, the trigger's
//! conditions tested against them, then the execution to create.
//!
//! Kept cheap for the common case (a literal key, no conditions): nothing is rendered and the
//! flow is not copied.

use peregrine_engine::NewExecution;
use peregrine_engine::variables::Globals;
use peregrine_model::execution::ExecutionTrigger;
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::{Label, Labels, Trigger};
use peregrine_model::property::is_expression;
use peregrine_model::triggers::WebhookSpec;
use peregrine_ports::repository::{Error, WebhookCall};
use serde_json::{Map, Value, json};

use super::flow_cache::CachedFlow;
use crate::conditions::{self, ConditionContext};
use crate::expressions::render_tree;

/// The execution a call starts, and how to answer it.
#[derive(Debug)]
pub(super) struct Matched {
    pub new: NewExecution,
    /// The trigger's `inputs`, rendered (typed against the flow when the execution is created).
    pub inputs: Map<String, Value>,
    pub wait: bool,
    pub return_outputs: bool,
}

/// What expressions in a trigger see: the flow, `envs`, `globals`, the request.
pub(super) struct Context<'a> {
    pub expressions: &'a dyn Expressions,
    pub globals: &'a Globals,
}

/// The execution to start, `None` when the trigger's conditions do not hold.
pub(super) fn resolve(
    cached: &CachedFlow,
    call: WebhookCall,
    context: &Context<'_>,
) -> Result<Option<Matched>, Error> {
    let flow = cached.plan.flow.as_ref();
    let base = || {
        json!({
            "flow": {"id": flow.id, "namespace": flow.namespace, "revision": cached.revision},
            "envs": context.globals.envs,
            "globals": context.globals.globals,
        })
    };
    let mut key_variables: Option<Value> = None;
    let mut found: Option<(&Trigger, &WebhookSpec)> = None;
    for (index, spec) in &cached.webhooks {
        let Some(trigger) = flow.triggers.get(*index) else {
            continue;
        };
        let key = if is_expression(&spec.key) {
            let variables = key_variables.get_or_insert_with(base);
            // A key that does not render matches nothing, as in Kestra.
            match context.expressions.render_string(&spec.key, variables) {
                Ok(key) => key,
                Err(_) => continue,
            }
        } else {
            spec.key.clone()
        };
        if key.trim() == call.key {
            found = Some((trigger, spec));
            break;
        }
    }
    let Some((trigger, spec)) = found else {
        return Err(Error::NotFound {
            what: "webhook",
            id: format!("{}.{}/{}", flow.namespace, flow.id, call.key),
        });
    };
    if trigger.common.disabled {
        return Err(Error::Conflict(format!(
            "the webhook trigger '{}' of flow {}.{} is disabled",
            trigger.common.id, flow.namespace, flow.id
        )));
    }
    let request = request_variables(call);
    let rendered = !trigger.common.conditions.is_empty()
        || spec.inputs.is_some()
        || trigger.common.labels.is_some();
    let variables = if rendered {
        let mut variables = key_variables.unwrap_or_else(base);
        if let Value::Object(map) = &mut variables {
            map.insert("trigger".into(), Value::Object(request.clone()));
        }
        variables
    } else {
        Value::Null
    };
    let condition_context = ConditionContext {
        flow,
        execution: None,
        variables: &variables,
        expressions: context.expressions,
        windows: None,
    };
    for condition in &trigger.common.conditions {
        // A condition that cannot be evaluated does not hold.
        if !conditions::test(condition, &condition_context).unwrap_or(false) {
            return Ok(None);
        }
    }
    let inputs = match &spec.inputs {
        Some(inputs) => match render_tree(
            context.expressions,
            &Value::Object(inputs.clone()),
            &variables,
        ) {
            Ok(Value::Object(inputs)) => inputs,
            Ok(_) => Map::new(),
            Err(message) => return Err(Error::Invalid(format!("webhook inputs: {message}"))),
        },
        None => Map::new(),
    };
    let labels = match &trigger.common.labels {
        Some(labels) => labels_of(context.expressions, labels, &variables)?,
        None => Vec::new(),
    };
    Ok(Some(Matched {
        new: NewExecution {
            id: peregrine_executor::new_id(),
            labels,
            trigger: Some(ExecutionTrigger {
                id: trigger.common.id.clone(),
                type_name: trigger.common.type_name.clone(),
                variables: Some(request),
            }),
            ..NewExecution::default()
        },
        inputs,
        wait: spec.wait,
        return_outputs: spec.return_outputs,
    }))
}

/// `body` (a JSON object or list when it reads as one, the text otherwise, null without a
/// body), `headers` and `parameters` (each name with the list of its values).
fn request_variables(call: WebhookCall) -> Map<String, Value> {
    let body = match call.body {
        None => Value::Null,
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => parsed,
            _ => Value::String(text),
        },
    };
    let mut variables = Map::new();
    variables.insert("body".into(), body);
    variables.insert("headers".into(), grouped(call.headers));
    variables.insert("parameters".into(), grouped(call.parameters));
    variables
}

fn grouped(pairs: Vec<(String, String)>) -> Value {
    let mut map = Map::new();
    for (name, value) in pairs {
        let entry = map.entry(name).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(value));
        }
    }
    Value::Object(map)
}

fn labels_of(
    expressions: &dyn Expressions,
    labels: &Value,
    variables: &Value,
) -> Result<Vec<Label>, Error> {
    let labels: Labels = serde_json::from_value(labels.clone())
        .map_err(|error| Error::Invalid(format!("webhook labels: {error}")))?;
    labels
        .0
        .into_iter()
        .map(|label| {
            let value = expressions
                .render_string(&label.value, variables)
                .map_err(|message| Error::Invalid(format!("label '{}': {message}", label.key)))?;
            Ok(Label {
                key: label.key,
                value,
            })
        })
        .collect()
}
