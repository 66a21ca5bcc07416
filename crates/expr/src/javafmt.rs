//! How values become text, the way Java, Pebble and Kestra print them.
//!
//! * [`output`]: what `{{ value }}` writes (Kestra's `JsonWriter`): `null`
//!   prints nothing, maps and lists print as compact JSON, numbers as Java.
//! * [`java_string`]: Java's `toString()` (used by `~`, `+` on strings,
//!   `join`…): lists print as `[a, b]`, maps as `{k=v}`.
//! * [`java_double`]: Java's `Double.toString` (`1.0`, `1.0E10`, `1.0E-4`).
//! * [`json`]: Jackson-style compact JSON with Java double formatting.

use serde_json::{Number, Value};

/// Java's `Double.toString` for a finite double.
pub fn java_double(d: f64) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    if !d.is_finite() {
        return if d.is_nan() {
            "NaN".to_owned()
        } else if d > 0.0 {
            "Infinity".to_owned()
        } else {
            "-Infinity".to_owned()
        };
    }
    let sign = if d < 0.0 { "-" } else { "" };
    let abs = d.abs();
    let sci = format!("{abs:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (1e-3..1e7).contains(&abs) {
        let point = exp + 1;
        if point <= 0 {
            format!(
                "{sign}0.{}{digits}",
                "0".repeat(point.unsigned_abs() as usize)
            )
        } else {
            let point = point as usize;
            if point >= digits.len() {
                format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Formats a JSON number as Java would (`i64` plainly, `f64` as a double).
pub fn java_number(n: &Number) -> String {
    if n.is_f64() {
        java_double(n.as_f64().unwrap_or(0.0))
    } else {
        n.to_string()
    }
}

/// Java's `String.valueOf(value)`.
pub fn java_string(v: &Value) -> String {
    let mut out = String::new();
    write_java(v, &mut out);
    out
}

fn write_java(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java(item, out);
            }
            out.push('}');
        }
    }
}

/// What `{{ value }}` writes into the output (Kestra's `JsonWriter`).
pub fn output(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Array(_) | Value::Object(_) => write_json(v, out),
        other => write_java(other, out),
    }
}

/// Jackson-style compact JSON.
pub fn json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

/// Writes a JSON string literal, escaping like Jackson.
pub fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        let cases = [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (100.0, "100.0"),
            (1e7, "1.0E7"),
            (1.0e10, "1.0E10"),
            (123456789.0, "1.23456789E8"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (9999999.0, "9999999.0"),
        ];
        for (d, s) in cases {
            assert_eq!(java_double(d), s, "{d}");
        }
    }
}
