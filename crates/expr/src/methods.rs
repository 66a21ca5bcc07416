//! A few Java methods that Pebble lets templates call on values
//! (`name.toUpperCase()`, `list.size()`, `map.containsKey('k')`…).
//! Pebble reaches any public Java method by reflection; only the common,
//! side-effect-free ones are provided here.

use serde_json::Value;

use crate::javafmt::java_string;
use crate::value::{as_int, equals, type_name};

/// The methods supported on each kind of value, for documentation.
pub const METHODS: &[&str] = &[
    "size",
    "length",
    "isEmpty",
    "toString",
    "toUpperCase",
    "toLowerCase",
    "trim",
    "contains",
    "startsWith",
    "endsWith",
    "substring",
    "indexOf",
    "replace",
    "split",
    "get",
    "containsKey",
    "keySet",
    "values",
    "equals",
    "equalsIgnoreCase",
];

fn arg<'v>(args: &'v [Value], i: usize, method: &str) -> Result<&'v Value, String> {
    args.get(i)
        .ok_or_else(|| format!("method '{method}' expects at least {} argument(s)", i + 1))
}

fn str_arg(args: &[Value], i: usize, method: &str) -> Result<String, String> {
    arg(args, i, method).map(java_string)
}

/// Calls `name(args)` on `target`.
pub(crate) fn call(target: &Value, name: &str, args: &[Value]) -> Result<Value, String> {
    let unknown = || {
        format!(
            "unknown method '{name}' on {} (supported: {})",
            type_name(target),
            METHODS.join(", ")
        )
    };
    match name {
        "toString" => return Ok(Value::String(java_string(target))),
        "equals" => return Ok(Value::Bool(equals(target, arg(args, 0, name)?))),
        _ => {}
    }
    match target {
        Value::String(s) => Ok(match name {
            "length" => Value::from(s.chars().count()),
            "isEmpty" => Value::Bool(s.is_empty()),
            "toUpperCase" => Value::String(s.to_uppercase()),
            "toLowerCase" => Value::String(s.to_lowercase()),
            "trim" => Value::String(s.trim().to_owned()),
            "contains" => Value::Bool(s.contains(&str_arg(args, 0, name)?)),
            "startsWith" => Value::Bool(s.starts_with(&str_arg(args, 0, name)?)),
            "endsWith" => Value::Bool(s.ends_with(&str_arg(args, 0, name)?)),
            "equalsIgnoreCase" => {
                Value::Bool(s.to_lowercase() == str_arg(args, 0, name)?.to_lowercase())
            }
            "indexOf" => {
                let needle = str_arg(args, 0, name)?;
                match s.find(&needle) {
                    Some(b) => Value::from(s[..b].chars().count()),
                    None => Value::from(-1),
                }
            }
            "replace" => {
                Value::String(s.replace(&str_arg(args, 0, name)?, &str_arg(args, 1, name)?))
            }
            "substring" => {
                let chars: Vec<char> = s.chars().collect();
                let from = as_int(arg(args, 0, name)?).ok_or("substring expects integers")?;
                let to = match args.get(1) {
                    Some(v) => as_int(v).ok_or("substring expects integers")?,
                    None => chars.len() as i64,
                };
                if from < 0 || to > chars.len() as i64 || from > to {
                    return Err(format!(
                        "substring({from}, {to}) out of range for length {}",
                        chars.len()
                    ));
                }
                Value::String(chars[from as usize..to as usize].iter().collect())
            }
            "split" => crate::filters::strings::java_split(s, &str_arg(args, 0, name)?, 0)?,
            _ => return Err(unknown()),
        }),
        Value::Array(items) => Ok(match name {
            "size" | "length" => Value::from(items.len()),
            "isEmpty" => Value::Bool(items.is_empty()),
            "contains" => {
                let x = arg(args, 0, name)?;
                Value::Bool(items.iter().any(|i| equals(i, x)))
            }
            "indexOf" => {
                let x = arg(args, 0, name)?;
                match items.iter().position(|i| equals(i, x)) {
                    Some(p) => Value::from(p),
                    None => Value::from(-1),
                }
            }
            "get" => {
                let i = as_int(arg(args, 0, name)?).ok_or("get expects an integer index")?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .cloned()
                    .ok_or_else(|| format!("index {i} out of bounds for length {}", items.len()))?
            }
            _ => return Err(unknown()),
        }),
        Value::Object(map) => Ok(match name {
            "size" => Value::from(map.len()),
            "isEmpty" => Value::Bool(map.is_empty()),
            "containsKey" => Value::Bool(map.contains_key(&str_arg(args, 0, name)?)),
            "get" => map
                .get(&str_arg(args, 0, name)?)
                .cloned()
                .unwrap_or(Value::Null),
            "keySet" => Value::Array(map.keys().cloned().map(Value::String).collect()),
            "values" => Value::Array(map.values().cloned().collect()),
            _ => return Err(unknown()),
        }),
        _ => Err(unknown()),
    }
}
