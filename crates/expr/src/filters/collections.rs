//! List and map filters.

use serde_json::{Map, Value};

use super::bind;
use crate::context::Args;
use crate::javafmt::java_string;
use crate::value::{equals, sort_cmp, type_name};

type R = Result<Value, String>;

/// Collection filters; `None` when `name` is not one of them.
pub(crate) fn apply(name: &str, input: &Value, args: &Args) -> Option<R> {
    let r = match name {
        "default" => (|| {
            let b = bind(args, &["default"])?;
            let empty = match input {
                Value::Null => true,
                Value::String(s) => s.trim().is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            };
            Ok(if empty {
                b.get("default").cloned().unwrap_or(Value::Null)
            } else {
                input.clone()
            })
        })(),
        "first" | "last" => Ok(first_last(name == "first", input)),
        "length" => Ok(Value::from(match input {
            Value::Null => 0,
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            _ => 0,
        })),
        "join" => join(input, args),
        "keys" => match input {
            Value::Null => Ok(Value::Null),
            Value::Object(m) => Ok(Value::Array(m.keys().cloned().map(Value::String).collect())),
            Value::Array(a) => Ok(Value::Array((0..a.len()).map(Value::from).collect())),
            other => Err(format!(
                "can only be applied to a list or a map, got {}",
                type_name(other)
            )),
        },
        "values" => match input {
            Value::Null => Ok(Value::Null),
            Value::Object(m) => Ok(Value::Array(m.values().cloned().collect())),
            other => Err(format!(
                "can only be applied to a map, got {}",
                type_name(other)
            )),
        },
        "merge" => merge(input, args),
        "reverse" => match input {
            Value::Null => Ok(Value::Null),
            Value::Array(a) => Ok(Value::Array(a.iter().rev().cloned().collect())),
            Value::String(s) => Ok(Value::String(s.chars().rev().collect())),
            other => Err(format!(
                "can only be applied to a list, got {}",
                type_name(other)
            )),
        },
        "sort" | "rsort" => sort(name == "rsort", input),
        "slice" => slice(input, args),
        "chunk" => chunk(input, args),
        "flatten" => match input {
            Value::Null => Ok(Value::Null),
            Value::Array(a) => Ok(Value::Array(
                a.iter()
                    .flat_map(|x| match x {
                        Value::Array(inner) => inner.clone(),
                        other => vec![other.clone()],
                    })
                    .collect(),
            )),
            _ => Err("can only be applied to lists".into()),
        },
        "distinct" => match input {
            Value::Null => Ok(Value::Null),
            Value::Array(a) => {
                let mut out: Vec<Value> = Vec::new();
                for x in a {
                    if !out.iter().any(|y| equals(x, y)) {
                        out.push(x.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            other => Err(format!(
                "can only be applied to a list, got {}",
                type_name(other)
            )),
        },
        _ => return None,
    };
    Some(r)
}

fn first_last(first: bool, input: &Value) -> Value {
    match input {
        Value::String(s) => {
            let c = if first {
                s.chars().next()
            } else {
                s.chars().last()
            };
            c.map(|c| Value::String(c.to_string()))
                .unwrap_or(Value::Null)
        }
        Value::Array(a) => {
            let x = if first { a.first() } else { a.last() };
            x.cloned().unwrap_or(Value::Null)
        }
        Value::Object(m) => {
            let x = if first {
                m.iter().next()
            } else {
                m.iter().next_back()
            };
            x.map(|(k, v)| {
                let mut e = Map::new();
                e.insert("key".into(), Value::String(k.clone()));
                e.insert("value".into(), v.clone());
                Value::Object(e)
            })
            .unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

fn join(input: &Value, args: &Args) -> R {
    let b = bind(args, &["separator"])?;
    let glue = b.get("separator").map(java_string).unwrap_or_default();
    match input {
        Value::Null => Ok(Value::Null),
        Value::Array(a) => Ok(Value::String(
            a.iter().map(java_string).collect::<Vec<_>>().join(&glue),
        )),
        _ => Err("expects that the input is a list".into()),
    }
}

fn merge(input: &Value, args: &Args) -> R {
    let b = bind(args, &["items"])?;
    let items = b.get("items");
    match (input, items) {
        (Value::Null, None) => Err("the two arguments to be merged are null".into()),
        (Value::Null, Some(i)) => Ok(i.clone()),
        (x, None) => Ok(x.clone()),
        (Value::Object(m), Some(Value::Object(n))) => {
            let mut out = m.clone();
            for (k, v) in n {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        (Value::Object(m), Some(Value::Array(list))) => {
            let mut out = m.clone();
            for v in list {
                out.insert(java_string(v), v.clone());
            }
            Ok(Value::Object(out))
        }
        (Value::Array(a), Some(Value::Array(b))) => {
            let mut out = a.clone();
            out.extend(b.iter().cloned());
            Ok(Value::Array(out))
        }
        (Value::Array(a), Some(Value::Object(m))) => {
            let mut out = a.clone();
            for (k, v) in m {
                let mut e = Map::new();
                e.insert("key".into(), Value::String(k.clone()));
                e.insert("value".into(), v.clone());
                out.push(Value::Object(e));
            }
            Ok(Value::Array(out))
        }
        (Value::Object(_) | Value::Array(_), Some(other)) => Err(format!(
            "only maps and lists can be merged, got {}",
            type_name(other)
        )),
        (other, _) => Err(format!(
            "the object being filtered is not a map or a list: {}",
            type_name(other)
        )),
    }
}

fn sort(reverse: bool, input: &Value) -> R {
    let list = match input {
        Value::Null => return Ok(Value::Null),
        Value::Array(a) => a,
        other => return Err(format!("unsupported input type {}", type_name(other))),
    };
    let mut out = list.clone();
    let mut err = None;
    out.sort_by(|a, b| {
        let o = sort_cmp(a, b).unwrap_or_else(|e| {
            err.get_or_insert(e);
            std::cmp::Ordering::Equal
        });
        if reverse { o.reverse() } else { o }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(Value::Array(out)),
    }
}

fn slice(input: &Value, args: &Args) -> R {
    let b = bind(args, &["fromIndex", "toIndex"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let from = b.int("fromIndex")?.unwrap_or(0);
    if from < 0 {
        return Err("fromIndex must be greater than 0".into());
    }
    let chars: Vec<char>;
    let length = match input {
        Value::Array(a) => a.len(),
        Value::String(s) => {
            chars = s.chars().collect();
            chars.len()
        }
        other => {
            return Err(format!(
                "can only be applied to strings and lists, got {}",
                type_name(other)
            ));
        }
    };
    let to = match b.int("toIndex")? {
        Some(to) => {
            if to > length as i64 {
                return Err(format!("toIndex must be smaller than input size: {length}"));
            }
            if from >= to {
                return Err("toIndex must be greater than fromIndex".into());
            }
            to as usize
        }
        None => length,
    };
    let from = (from as usize).min(to);
    Ok(match input {
        Value::Array(a) => Value::Array(a[from..to].to_vec()),
        Value::String(s) => Value::String(s.chars().skip(from).take(to - from).collect()),
        _ => Value::Null,
    })
}

fn chunk(input: &Value, args: &Args) -> R {
    let b = bind(args, &["size"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let size = b.int("size")?.ok_or("expects an argument 'size'")?;
    if size <= 0 {
        return Err("'size' must be greater than 0".into());
    }
    match input {
        Value::Array(a) => Ok(Value::Array(
            a.chunks(size as usize)
                .map(|c| Value::Array(c.to_vec()))
                .collect(),
        )),
        other => Err(format!(
            "can only be applied to a list, got {}",
            type_name(other)
        )),
    }
}
