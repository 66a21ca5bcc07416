//! Functions (`name(args)`): Pebble's `range`, `min`, `max`; Kestra's
//! `now`, `json`/`fromJson`, `yaml`/`fromYaml`, `render`, `renderOnce`,
//! `printContext`/`fetchContext`, `currentEachOutput`; everything else is
//! asked to the [`crate::Host`].

mod render;

use serde_json::{Map, Value};

use crate::ast;
use crate::context::{Args, HOST_FUNCTIONS};
use crate::error::{Error, Pos, Result};
use crate::eval::Evaluator;
use crate::filters::bind;
use crate::value::{as_int, sort_cmp, type_name};
use crate::{date, yaml};

/// The names of the functions built into the engine.
pub const FUNCTIONS: &[&str] = &[
    "range",
    "min",
    "max",
    "now",
    "json",
    "fromJson",
    "yaml",
    "fromYaml",
    "render",
    "renderOnce",
    "printContext",
    "fetchContext",
    "currentEachOutput",
];

/// At most this many elements are produced by `range()` and `a..b`.
pub const MAX_RANGE: usize = 1_000_000;

/// Calls the function `name`.
pub(crate) fn call(ev: &Evaluator<'_>, name: &str, args: &ast::Args, pos: Pos) -> Result<Value> {
    let values = ev.eval_args(args)?;
    let fail = |m: String| Error::eval(format!("function '{name}': {m}"), pos);
    match name {
        "range" => (|| {
            let b = bind(&values, &["start", "end", "increment"])?;
            let one = Value::from(1);
            range(
                b.get("start").unwrap_or(&Value::Null),
                b.get("end").unwrap_or(&Value::Null),
                b.get("increment").unwrap_or(&one),
            )
        })()
        .map_err(fail),
        "min" | "max" => min_max(name == "max", &values).map_err(fail),
        "json" | "fromJson" => (|| {
            let b = bind(&values, &["json"])?;
            match b.get("json") {
                None => Ok(Value::Null),
                Some(Value::String(s)) => {
                    serde_json::from_str(s).map_err(|e| format!("invalid json: {e}"))
                }
                Some(other) => Err(format!(
                    "expects an argument 'json' with type string, got {}",
                    type_name(other)
                )),
            }
        })()
        .map_err(fail),
        "yaml" | "fromYaml" => (|| {
            let b = bind(&values, &["yaml"])?;
            match b.get("yaml") {
                Some(Value::String(s)) => yaml::parse(s).map_err(|e| format!("invalid yaml: {e}")),
                _ => Err("expects an argument 'yaml' with type string".to_owned()),
            }
        })()
        .map_err(fail),
        "now" => {
            let Some(now) = ev.ctx.now() else {
                return Err(Error::Unavailable {
                    name: name.to_owned(),
                    pos,
                });
            };
            (|| {
                let b = bind(&values, &["format", "timeZone", "existingFormat", "locale"])?;
                let tz = match b.str("timeZone")? {
                    Some(n) => date::zone(n)?,
                    None => ev.ctx.default_tz(),
                };
                let z = now.to_zoned_datetime(tz);
                date::format(&z, b.str("format")?.unwrap_or("iso")).map(Value::String)
            })()
            .map_err(fail)
        }
        "render" | "renderOnce" => {
            let b = if name == "render" {
                bind(&values, &["toRender", "recursive"])
            } else {
                bind(&values, &["toRender"])
            }
            .map_err(fail)?;
            if !b.has("toRender") {
                return Err(fail("expects an argument 'toRender'".to_owned()));
            }
            let recursive = match b.get("recursive") {
                None => name == "render",
                Some(Value::Bool(r)) => *r,
                Some(_) => {
                    return Err(fail(
                        "expects an optional argument 'recursive' with type boolean".to_owned(),
                    ));
                }
            };
            let to_render = b.get("toRender").cloned().unwrap_or(Value::Null);
            render::render_value(ev, &to_render, recursive)
        }
        "printContext" | "fetchContext" => Ok(Value::Object(ev.all_vars())),
        "currentEachOutput" => current_each_output(ev, &values).map_err(fail),
        _ => host_call(ev, name, &values, pos),
    }
}

fn host_call(ev: &Evaluator<'_>, name: &str, values: &Args, pos: Pos) -> Result<Value> {
    if let Some(host) = ev.ctx.host
        && let Some(result) = host.call(name, values, ev)
    {
        return result.map_err(|e| match e {
            Error::Host(m) => Error::eval(format!("function '{name}': {m}"), pos),
            other => other,
        });
    }
    if HOST_FUNCTIONS.contains(&name) {
        Err(Error::Unavailable {
            name: name.to_owned(),
            pos,
        })
    } else {
        Err(Error::eval(format!("unknown function '{name}'"), pos))
    }
}

/// Pebble's `range(start, end, increment)` (inclusive), numbers or single characters.
pub(crate) fn range(start: &Value, end: &Value, increment: &Value) -> Result<Value, String> {
    let step = as_int(increment).ok_or_else(|| {
        format!(
            "the increment of the range function must be a number, got {}",
            type_name(increment)
        )
    })?;
    if step == 0 {
        return Err("the increment of the range function must be different than 0".to_owned());
    }
    let (from, to, chars) = match (start, end) {
        (Value::String(a), Value::String(b)) => {
            let (mut ca, mut cb) = (a.chars(), b.chars());
            match (ca.next(), ca.next(), cb.next(), cb.next()) {
                (Some(x), None, Some(y), None) => {
                    (i64::from(u32::from(x)), i64::from(u32::from(y)), true)
                }
                _ => {
                    return Err(
                        "arguments of range function must be numbers or strings of length 1"
                            .to_owned(),
                    );
                }
            }
        }
        _ => match (as_int(start), as_int(end)) {
            (Some(a), Some(b)) => (a, b, false),
            _ => {
                return Err(
                    "arguments of range function must be numbers or strings of length 1".to_owned(),
                );
            }
        },
    };
    let count = if (step > 0 && from > to) || (step < 0 && from < to) {
        0
    } else {
        (i128::from(to) - i128::from(from)) / i128::from(step) + 1
    };
    if count > MAX_RANGE as i128 {
        return Err(format!(
            "range of {count} elements is larger than the limit of {MAX_RANGE}"
        ));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut i = i128::from(from);
    for _ in 0..count {
        if chars {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            out.push(Value::String(c.to_string()));
        } else {
            out.push(Value::from(i as i64));
        }
        i += i128::from(step);
    }
    Ok(Value::Array(out))
}

fn min_max(max: bool, args: &Args) -> Result<Value, String> {
    if !args.named.is_empty() {
        return Err("expects positional arguments only".to_owned());
    }
    let mut best: Option<&Value> = None;
    for v in &args.positional {
        best = Some(match best {
            None => v,
            Some(b) => {
                let ord = sort_cmp(v, b)?;
                if (max && ord.is_gt()) || (!max && ord.is_lt()) {
                    v
                } else {
                    b
                }
            }
        });
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

/// Kestra's `currentEachOutput(outputs)`: walks `outputs` down the values of
/// the parent `ForEach` task runs, then the current `taskrun.value`.
fn current_each_output(ev: &Evaluator<'_>, args: &Args) -> Result<Value, String> {
    let b = bind(args, &["outputs"])?;
    let mut outputs = match b.get("outputs") {
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("expects an argument 'outputs' with type map".to_owned()),
        None => return Err("expects an argument 'outputs'".to_owned()),
    };
    let key_of = |v: &Value| -> Option<String> {
        let value = v.get("taskrun")?.get("value")?;
        Some(match value {
            Value::Null => return None,
            Value::String(s) => s.clone(),
            other => crate::javafmt::java_string(other),
        })
    };
    // The loop values from the outermost parent to this task run; a task inside a flowable
    // inherits its parent's value, so each loop level counts once.
    let mut chain: Vec<Option<String>> = Vec::new();
    if let Some(Value::Array(parents)) = ev.lookup("parents") {
        chain.extend(parents.iter().rev().map(key_of));
    }
    let mut root = Map::new();
    if let Some(t) = ev.lookup("taskrun") {
        root.insert("taskrun".to_owned(), t.clone());
    }
    let own = key_of(&Value::Object(root));
    if own.is_none() {
        return Err("no 'taskrun.value' in the context".to_owned());
    }
    chain.push(own);
    let mut previous: Option<&Option<String>> = None;
    let mut keys = Vec::new();
    for value in &chain {
        if let Some(key) = value
            && previous != Some(value)
        {
            keys.push(key.clone());
        }
        previous = Some(value);
    }
    let Some((last, path)) = keys.split_last() else {
        return Ok(Value::Null);
    };
    for key in path {
        outputs = match outputs.get(key) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
    }
    Ok(outputs.get(last).cloned().unwrap_or(Value::Null))
}
