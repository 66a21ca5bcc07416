//! The engine renders conditions, loop values and outputs through the model's expression port,
//! so it stays free of any particular template engine; Kestra's truthiness and value texts.

pub use peregrine_model::expressions::Expressions;
use serde_json::Value;

/// Kestra's truthiness of a rendered condition: false for `false`, `0`, `-0`, empty, null.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        Value::String(text) => {
            let text = text.trim();
            !(text.is_empty()
                || text.eq_ignore_ascii_case("false")
                || text == "0"
                || text == "-0"
                || text == "0.0")
        }
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The text of a loop value as Kestra stores it in `taskrun.value`.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
