//! Serialization, hashing and introspection filters: `json`/`toJson`,
//! `yaml`/`toYaml`, `jq`, `className`, `md5`, `sha1`, `sha256`, `sha512`.

use serde_json::Value;

use super::bind;
use crate::context::Args;
use crate::value::{Num, as_num, type_name};
use crate::{hash, javafmt, jq, yaml};

type R = Result<Value, String>;

/// Encoding filters; `None` when `name` is not one of them.
pub(crate) fn apply(name: &str, input: &Value, args: &Args) -> Option<R> {
    let r = match name {
        "json" | "toJson" => Ok(Value::String(javafmt::json(input))),
        "yaml" | "toYaml" => Ok(Value::String(yaml::emit(input))),
        "className" => Ok(match input {
            Value::Null => Value::Null,
            v => Value::String(class_name(v).to_owned()),
        }),
        "md5" | "sha1" | "sha256" | "sha512" => match input {
            Value::Null => Ok(Value::Null),
            Value::String(s) => Ok(Value::String(match name {
                "md5" => hash::md5(s.as_bytes()),
                "sha1" => hash::sha1(s.as_bytes()),
                "sha256" => hash::sha256(s.as_bytes()),
                _ => hash::sha512(s.as_bytes()),
            })),
            other => Err(format!("need a string to hash, got {}", type_name(other))),
        },
        "jq" => (|| {
            let b = bind(args, &["expression"])?;
            if input.is_null() {
                return Ok(Value::Null);
            }
            let code = b
                .str("expression")?
                .ok_or("expects an argument 'expression'")?;
            let parsed;
            let data = match input {
                Value::String(s) => {
                    parsed = serde_json::from_str::<Value>(s)
                        .map_err(|e| format!("unable to parse jq value '{s}': {e}"))?;
                    &parsed
                }
                other => other,
            };
            jq::run(code, data).map(Value::Array)
        })(),
        _ => return None,
    };
    Some(r)
}

/// The Java class Kestra would report for a value.
fn class_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(_) => match as_num(v) {
            Some(Num::Int(i)) if i32::try_from(i).is_ok() => "java.lang.Integer",
            Some(Num::Int(_)) => "java.lang.Long",
            _ => "java.lang.Double",
        },
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}
