//! Turns the inputs given to an execution (text from a form or a command line, or typed JSON)
//! into typed values, applying defaults and each input type's rules, as Kestra does.

use peregrine_model::Duration;
use peregrine_model::flow::{Flow, Input, InputType};
use serde_json::{Map, Value};

/// An input that cannot be accepted; the message names the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Invalid input for `{id}`: {message}")]
pub struct InputError {
    pub id: String,
    pub message: String,
}

/// Types every declared input; unknown given inputs are dropped, as Kestra does.
pub fn typed_inputs(
    flow: &Flow,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<InputError>> {
    let mut typed = Map::new();
    let mut errors = Vec::new();
    for input in &flow.inputs {
        let id = input.id().to_string();
        let raw = given
            .get(&id)
            .filter(|value| !value.is_null())
            .or(input.common.defaults.as_ref());
        let Some(raw) = raw.filter(|value| !value.is_null()) else {
            if input.is_required() {
                errors.push(InputError {
                    id,
                    message: "missing required input, but received `null`".into(),
                });
            }
            continue;
        };
        match type_value(input, input.input_type, raw) {
            Ok(value) => {
                typed.insert(id, value);
            }
            Err(message) => errors.push(InputError { id, message }),
        }
    }
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(errors)
    }
}

/// Keeps the given inputs as they are (no parsing, no checks) and adds the typed defaults of the
/// declared inputs that are missing: how executions started by a parent or a trigger get inputs.
pub fn with_defaults(flow: &Flow, given: Map<String, Value>) -> Map<String, Value> {
    let mut inputs = given;
    for input in &flow.inputs {
        let id = input.id();
        if inputs.get(id).is_some_and(|value| !value.is_null()) {
            continue;
        }
        if let Some(default) = input
            .common
            .defaults
            .as_ref()
            .filter(|value| !value.is_null())
        {
            let value =
                type_value(input, input.input_type, default).unwrap_or_else(|_| default.clone());
            inputs.insert(id.to_string(), value);
        }
    }
    inputs
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn option_str<'a>(input: &'a Input, key: &str) -> Option<&'a str> {
    input.options.get(key).and_then(Value::as_str)
}

fn type_value(input: &Input, kind: InputType, raw: &Value) -> Result<Value, String> {
    let raw_text = text(raw);
    match kind {
        InputType::String | InputType::Secret => {
            if let Some(pattern) = option_str(input, "validator") {
                let regex = regex_lite(pattern)?;
                if !regex.is_match(&raw_text) {
                    return Err(format!("it must match the pattern `{pattern}`"));
                }
            }
            Ok(Value::String(raw_text))
        }
        InputType::Int => {
            let number: i64 = match raw {
                Value::Number(number) if number.is_i64() => number.as_i64().unwrap_or_default(),
                _ => raw_text
                    .trim()
                    .parse()
                    .map_err(|_| format!("expected an integer, got `{raw_text}`"))?,
            };
            check_bounds(input, number as f64)?;
            Ok(Value::from(number))
        }
        InputType::Float => {
            let number: f64 = match raw {
                Value::Number(number) => number.as_f64().unwrap_or_default(),
                _ => raw_text
                    .trim()
                    .parse()
                    .map_err(|_| format!("expected a number, got `{raw_text}`"))?,
            };
            check_bounds(input, number)?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| "not a finite number".to_string())
        }
        InputType::Boolean | InputType::Bool => Ok(Value::Bool(match raw {
            Value::Bool(flag) => *flag,
            _ => raw_text.trim().eq_ignore_ascii_case("true"),
        })),
        InputType::DateTime => {
            let instant: jiff::Timestamp = raw_text
                .trim()
                .parse()
                .map_err(|_| format!("expected an ISO-8601 date-time, got `{raw_text}`"))?;
            Ok(Value::String(instant.to_string()))
        }
        InputType::Date => {
            let date: jiff::civil::Date = raw_text
                .trim()
                .parse()
                .map_err(|_| format!("expected an ISO-8601 date, got `{raw_text}`"))?;
            Ok(Value::String(date.to_string()))
        }
        InputType::Time => {
            let time: jiff::civil::Time = raw_text
                .trim()
                .parse()
                .map_err(|_| format!("expected an ISO-8601 time, got `{raw_text}`"))?;
            Ok(Value::String(time.to_string()))
        }
        InputType::Duration => {
            let duration: Duration = raw_text
                .trim()
                .parse()
                .map_err(|error: peregrine_model::duration::DurationError| error.to_string())?;
            Ok(Value::String(duration.to_string()))
        }
        InputType::Json => match raw {
            Value::String(json) => {
                serde_json::from_str(json).map_err(|error| format!("invalid JSON: {error}"))
            }
            other => Ok(other.clone()),
        },
        InputType::Yaml => match raw {
            Value::String(yaml) => peregrine_model::yaml::load_document(yaml)
                .map(|document| document.root.to_json())
                .map_err(|error| format!("invalid YAML: {error}")),
            other => Ok(other.clone()),
        },
        InputType::Uri | InputType::File => {
            let valid = raw_text.split_once(':').is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                    && !rest.is_empty()
            });
            if valid {
                Ok(Value::String(raw_text))
            } else {
                Err(format!("expected a URI, got `{raw_text}`"))
            }
        }
        InputType::Email => {
            let valid = raw_text
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
            if valid {
                Ok(Value::String(raw_text))
            } else {
                Err(format!("expected an email address, got `{raw_text}`"))
            }
        }
        InputType::Select | InputType::Enum => {
            let values = allowed_values(input);
            let custom = input
                .options
                .get("allowCustomValue")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !custom && !values.is_empty() && !values.contains(&raw_text) {
                return Err(format!(
                    "it must match the values `[{}]`",
                    values.join(", ")
                ));
            }
            Ok(Value::String(raw_text))
        }
        InputType::MultiSelect => {
            let items = as_list(raw)?;
            let values = allowed_values(input);
            let custom = input
                .options
                .get("allowCustomValue")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            for item in &items {
                if !custom && !values.is_empty() && !values.contains(&text(item)) {
                    return Err(format!(
                        "it must match the values `[{}]`",
                        values.join(", ")
                    ));
                }
            }
            Ok(Value::Array(items))
        }
        InputType::Array => {
            let items = as_list(raw)?;
            let item_type = input
                .options
                .get("itemType")
                .and_then(Value::as_str)
                .and_then(InputType::from_name)
                .unwrap_or(InputType::String);
            let typed: Result<Vec<Value>, String> = items
                .iter()
                .map(|item| type_value(input, item_type, item))
                .collect();
            Ok(Value::Array(typed?))
        }
    }
}

fn allowed_values(input: &Input) -> Vec<String> {
    ["values", "options"]
        .iter()
        .filter_map(|key| input.options.get(*key)?.as_array())
        .flatten()
        .map(text)
        .collect()
}

fn as_list(raw: &Value) -> Result<Vec<Value>, String> {
    match raw {
        Value::Array(items) => Ok(items.clone()),
        Value::String(json) => match serde_json::from_str::<Value>(json) {
            Ok(Value::Array(items)) => Ok(items),
            _ => Err(format!("expected a JSON array, got `{json}`")),
        },
        other => Err(format!("expected a list, got `{other}`")),
    }
}

fn check_bounds(input: &Input, number: f64) -> Result<(), String> {
    if let Some(min) = input.options.get("min").and_then(Value::as_f64)
        && number < min
    {
        return Err(format!(
            "it must be more than `{}`",
            text(&input.options["min"])
        ));
    }
    if let Some(max) = input.options.get("max").and_then(Value::as_f64)
        && number > max
    {
        return Err(format!(
            "it must be less than `{}`",
            text(&input.options["max"])
        ));
    }
    Ok(())
}

/// Kestra matches validators against the whole value.
fn regex_lite(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|error| format!("invalid validator: {error}"))
}
