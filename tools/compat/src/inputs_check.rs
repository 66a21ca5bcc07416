//! `typed_inputs` and `input_errors` (InputsTest): the value of each input once typed, and
//! single-input changes to the inputs given that must be refused with Kestra's message.

use peregrine_model::Flow;
use peregrine_model::execution::Execution;
use serde_json::{Map, Value};

/// Each expected typed input against the execution's inputs; `<...>` stands for a value made
/// at test time (present, or any text in its place).
pub fn check_typed(expected: &Value, execution: &Execution) -> Vec<String> {
    let actual = Value::Object(execution.inputs.clone().unwrap_or_default());
    let mut problems = Vec::new();
    for (id, wanted) in expected.as_object().into_iter().flatten() {
        let found = actual.get(id);
        if !same(wanted, found) {
            problems.push(format!(
                "typed input {id}: expected {wanted}, got {}",
                found.map_or("nothing".to_string(), Value::to_string)
            ));
        }
    }
    problems
}

/// Each change of one input given must be refused: `error_contains` is in one of the errors,
/// `error_equals` is one of them as `<input>: <message>`.
pub fn check_errors(expected: &Value, flow: &Flow, given: &Map<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for case in expected.as_array().into_iter().flatten() {
        let mut inputs = given.clone();
        for (id, value) in case["override"].as_object().into_iter().flatten() {
            inputs.insert(id.clone(), value.clone());
        }
        let errors: Vec<(String, String)> =
            match peregrine_engine::inputs::typed_inputs(flow, &inputs) {
                Ok(_) => Vec::new(),
                Err(errors) => errors
                    .iter()
                    .map(|error| (error.id.clone(), error.to_string()))
                    .collect(),
            };
        let matched = if let Some(text) = case["error_contains"].as_str() {
            errors.iter().any(|(_, message)| message.contains(text))
        } else if let Some(text) = case["error_equals"].as_str() {
            errors
                .iter()
                .any(|(id, message)| format!("{id}: {message}") == text)
        } else {
            true
        };
        if !matched {
            let messages: Vec<&str> = errors.iter().map(|(_, message)| message.as_str()).collect();
            problems.push(format!(
                "inputs {}: expected the error {}, got {messages:?}",
                case["override"], case
            ));
        }
    }
    problems
}

/// Deep equality where `<...>` alone means "present" and inside a text means any text; numbers
/// compare by value, scalars also by their text (`42` and `"42"`).
fn same(wanted: &Value, found: Option<&Value>) -> bool {
    let Some(found) = found else {
        return false;
    };
    match wanted {
        Value::String(text) if text.starts_with('<') && text.ends_with('>') => !found.is_null(),
        Value::String(text) if text.contains('<') && text.contains('>') => found
            .as_str()
            .is_some_and(|found| crate::checks::placeholder_match(text, found)),
        Value::Object(map) => {
            let Some(found) = found.as_object() else {
                return false;
            };
            map.len() == found.len() && map.iter().all(|(key, value)| same(value, found.get(key)))
        }
        Value::Array(items) => found.as_array().is_some_and(|found| {
            items.len() == found.len()
                && items
                    .iter()
                    .zip(found)
                    .all(|(item, other)| same(item, Some(other)))
        }),
        Value::Number(number) => match (number.as_f64(), found.as_f64()) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            _ => false,
        },
        Value::String(text) => found.as_str() == Some(text.as_str()),
        other => other == found,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn compares_deeply_with_placeholders() {
        assert!(super::same(
            &json!({"a": [1, 2.5]}),
            Some(&json!({"a": [1, 2.5]}))
        ));
        assert!(!super::same(
            &json!({"a": 1}),
            Some(&json!({"a": 1, "b": 2}))
        ));
        assert!(super::same(&json!("<made>"), Some(&json!("x"))));
        assert!(super::same(
            &json!("kestra:///a/<id>/b.txt"),
            Some(&json!("kestra:///a/123/b.txt"))
        ));
        assert!(!super::same(&json!(false), Some(&json!("false"))));
    }
}
