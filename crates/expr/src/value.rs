//! Operations on values with Pebble's semantics: arithmetic (integer vs
//! floating), equality, numeric comparison, truthiness and `contains`.

use serde_json::Value;

use crate::ast::BinaryOp;
use crate::javafmt::java_string;

/// A number, keeping Pebble's integer (`Long`) vs floating (`Double`) split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub(crate) fn into_value(self) -> Result<Value, String> {
        match self {
            Num::Int(i) => Ok(Value::from(i)),
            Num::Float(f) => float_value(f),
        }
    }
}

/// A float as a JSON value; NaN and infinities cannot be represented.
pub(crate) fn float_value(f: f64) -> Result<Value, String> {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("result is not a finite number ({f})"))
}

/// A short type name for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// The number inside a JSON value, if it is one.
pub(crate) fn as_num(v: &Value) -> Option<Num> {
    let Value::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i))
    } else if n.is_u64() {
        // Beyond i64: Pebble would have a BigInteger; use a double.
        n.as_f64().map(Num::Float)
    } else {
        n.as_f64().map(Num::Float)
    }
}

/// An integer argument (floats with no fraction are accepted).
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match as_num(v)? {
        Num::Int(i) => Some(i),
        Num::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
        Num::Float(_) => None,
    }
}

/// Pebble's `OperatorUtils.toNumber`: numbers, or strings that parse.
pub(crate) fn to_num(v: &Value) -> Result<Num, String> {
    match v {
        Value::Number(_) => as_num(v).ok_or_else(|| "invalid number".to_owned()),
        Value::String(s) => {
            let t = s.trim();
            if t.contains(['.', 'e', 'E']) {
                t.parse::<f64>()
                    .map(Num::Float)
                    .map_err(|_| format!("cannot convert string '{s}' to a number"))
            } else {
                t.parse::<i64>()
                    .map(Num::Int)
                    .map_err(|_| format!("cannot convert string '{s}' to a number"))
            }
        }
        other => Err(format!("cannot convert {} to a number", type_name(other))),
    }
}

/// `+ - * / %` with Pebble's rules.
pub(crate) fn arith(op: BinaryOp, a: &Value, b: &Value) -> Result<Value, String> {
    match op {
        BinaryOp::Add => {
            if a.is_string() || b.is_string() {
                let mut s = java_string(a);
                s.push_str(&java_string(b));
                return Ok(Value::String(s));
            }
            if let Value::Array(items) = a {
                let mut out = items.clone();
                match b {
                    Value::Array(more) => out.extend(more.iter().cloned()),
                    other => out.push(other.clone()),
                }
                return Ok(Value::Array(out));
            }
        }
        BinaryOp::Sub => {
            if let Value::Array(items) = a {
                let out = match b {
                    Value::Array(remove) => items
                        .iter()
                        .filter(|i| !remove.contains(i))
                        .cloned()
                        .collect(),
                    other => {
                        let mut out = items.clone();
                        if let Some(idx) = out.iter().position(|i| i == other) {
                            out.remove(idx);
                        }
                        out
                    }
                };
                return Ok(Value::Array(out));
            }
        }
        _ => {}
    }
    let x = to_num(a)?;
    let y = to_num(b)?;
    numeric(op, x, y)?.into_value()
}

pub(crate) fn numeric(op: BinaryOp, x: Num, y: Num) -> Result<Num, String> {
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => Ok(Num::Int(match op {
            BinaryOp::Add => x.wrapping_add(y),
            BinaryOp::Sub => x.wrapping_sub(y),
            BinaryOp::Mul => x.wrapping_mul(y),
            BinaryOp::Div => {
                if y == 0 {
                    return Err("division by zero".to_owned());
                }
                x.wrapping_div(y)
            }
            BinaryOp::Mod => {
                if y == 0 {
                    return Err("division by zero".to_owned());
                }
                x.wrapping_rem(y)
            }
            _ => return Err("not an arithmetic operator".to_owned()),
        })),
        _ => {
            let (x, y) = (x.as_f64(), y.as_f64());
            Ok(Num::Float(match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                BinaryOp::Div => x / y,
                BinaryOp::Mod => x % y,
                _ => return Err("not an arithmetic operator".to_owned()),
            }))
        }
    }
}

/// Pebble's `==`: numbers compare by value (`1 == 1.0`), the rest by equality.
pub(crate) fn equals(a: &Value, b: &Value) -> bool {
    match (as_num(a), as_num(b)) {
        (Some(x), Some(y)) => match (x, y) {
            (Num::Int(x), Num::Int(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// `< > <= >=`: numbers only; `null` on either side gives `false`.
pub(crate) fn compare(op: BinaryOp, a: &Value, b: &Value) -> Result<bool, String> {
    if a.is_null() || b.is_null() {
        return Ok(false);
    }
    let (Some(x), Some(y)) = (as_num(a), as_num(b)) else {
        return Err(format!(
            "invalid operands for comparison: {} and {} (only numbers can be compared)",
            type_name(a),
            type_name(b)
        ));
    };
    let ord = match (x, y) {
        (Num::Int(x), Num::Int(y)) => x.partial_cmp(&y),
        _ => x.as_f64().partial_cmp(&y.as_f64()),
    };
    let Some(ord) = ord else { return Ok(false) };
    Ok(match op {
        BinaryOp::Lt => ord.is_lt(),
        BinaryOp::Gt => ord.is_gt(),
        BinaryOp::Le => ord.is_le(),
        BinaryOp::Ge => ord.is_ge(),
        _ => false,
    })
}

/// Pebble's boolean conversion in `if`, `not`, `and`, `or`: booleans as is,
/// numbers are true unless zero, strings unless empty; `null` (strict
/// variables) and lists or maps are errors.
pub(crate) fn truthy(v: &Value, what: &str) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(_) => Ok(as_num(v).is_some_and(|n| n.as_f64() != 0.0)),
        Value::String(s) => Ok(!s.is_empty()),
        Value::Null => Err(format!("null value given to {what}")),
        other => Err(format!(
            "unsupported value type {} in {what}, expected boolean, string or number",
            type_name(other)
        )),
    }
}

/// Lenient truthiness used by the ternary operator: `null` is false.
pub(crate) fn ternary_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(_) | Value::Object(_) => true,
        other => truthy(other, "").unwrap_or(false),
    }
}

/// Pebble's `contains`: list membership (or all of a list), map key, substring.
pub(crate) fn contains(container: &Value, item: &Value) -> Result<bool, String> {
    match container {
        Value::Null => Ok(false),
        Value::Array(items) => match item {
            Value::Array(wanted) => Ok(wanted.iter().all(|w| items.iter().any(|i| equals(i, w)))),
            other => Ok(items.iter().any(|i| equals(i, other))),
        },
        Value::Object(map) => Ok(match item {
            Value::String(k) => map.contains_key(k),
            Value::Number(_) | Value::Bool(_) => map.contains_key(&java_string(item)),
            _ => false,
        }),
        Value::String(s) => Ok(s.contains(&java_string(item))),
        other => Err(format!(
            "contains operator can only be used on lists, maps and strings, not {}",
            type_name(other)
        )),
    }
}

/// Ordering used by `sort`, `rsort`, `min`, `max` (numbers, then strings).
pub(crate) fn sort_cmp(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    match (as_num(a), as_num(b)) {
        (Some(x), Some(y)) => Ok(x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)),
        _ => match (a, b) {
            (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
            (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
            _ => Err(format!(
                "cannot compare {} with {}",
                type_name(a),
                type_name(b)
            )),
        },
    }
}
