//! Pebble tests: `x is defined`, `x is not empty`, …

use serde_json::Value;

use crate::context::Args;
use crate::value::{Num, as_num, type_name};

/// The names of every supported test.
pub const TESTS: &[&str] = &[
    "defined", "null", "empty", "even", "odd", "iterable", "map", "json",
];

/// Applies the test `name` to `input`.
pub(crate) fn apply(name: &str, input: &Value, _args: &Args) -> Result<bool, String> {
    Ok(match name {
        // `defined` receives null for undefined inputs (see the evaluator).
        "defined" => !input.is_null(),
        "null" => input.is_null(),
        "empty" => match input {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(m) => m.is_empty(),
            _ => false,
        },
        "even" | "odd" => {
            let n = match as_num(input) {
                Some(Num::Int(i)) => i,
                Some(Num::Float(_)) | None if input.is_null() => {
                    return Err(format!("cannot pass null value to '{name}' test"));
                }
                _ => {
                    return Err(format!(
                        "the '{name}' test expects an integer, got {}",
                        type_name(input)
                    ));
                }
            };
            (n % 2 == 0) == (name == "even")
        }
        "iterable" => input.is_array(),
        "map" => input.is_object(),
        "json" => match input {
            Value::String(s) => serde_json::from_str::<Value>(s).is_ok(),
            _ => false,
        },
        other => return Err(format!("unknown test '{other}'")),
    })
}
