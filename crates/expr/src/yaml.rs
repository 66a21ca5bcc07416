//! YAML for the `yaml` filter (Jackson-style output) and the `yaml()`
//! function (parsing with `saphyr-parser`, YAML 1.2 core schema).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

use crate::javafmt::{java_number, json_string};

/// Parses the first YAML document of `text` into a JSON value.
pub fn parse(text: &str) -> Result<Value, String> {
    enum Frame {
        Seq(Vec<Value>, usize),
        Map(Map<String, Value>, Option<String>, usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut root: Option<Value> = None;
    let mut parser = Parser::new_from_str(text);
    while let Some(ev) = parser.next_event() {
        let (ev, _span) = ev.map_err(|e| e.to_string())?;
        let complete: Option<(Value, usize)> = match ev {
            Event::StreamEnd | Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            Event::Alias(id) => Some((anchors.get(&id).cloned().unwrap_or(Value::Null), 0)),
            Event::Scalar(s, style, anchor, tag) => {
                let v = if tag.as_ref().is_some_and(|t| t.suffix == "str")
                    || style != ScalarStyle::Plain
                {
                    Value::String(s.into_owned())
                } else {
                    resolve_plain(&s)
                };
                Some((v, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Map::new(), None, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => Some((Value::Array(items), anchor)),
                _ => return Err("unbalanced sequence".to_owned()),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(map, _, anchor)) => Some((Value::Object(map), anchor)),
                _ => return Err("unbalanced mapping".to_owned()),
            },
            _ => None,
        };
        let Some((value, anchor)) = complete else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, key, _)) => match key.take() {
                None => {
                    *key = Some(match value {
                        Value::String(s) => s,
                        Value::Null => "null".to_owned(),
                        other => crate::javafmt::java_string(&other),
                    });
                }
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit())
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::from(i);
    }
    if let Some(h) = s.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(h, 16)
    {
        return Value::from(i);
    }
    if let Some(o) = s.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(o, 8)
    {
        return Value::from(i);
    }
    let looks_float = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if looks_float
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_owned())
}

/// Serializes a value the way Kestra's `yaml` filter does (Jackson YAML,
/// minimized quotes, no document marker, arrays indented).
pub fn emit(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Array(items) if !items.is_empty() => emit_seq(items, 0, &mut out),
        Value::Object(map) if !map.is_empty() => emit_map(map, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => java_number(n),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    if matches!(
        resolve_plain(s),
        Value::Null | Value::Bool(_) | Value::Number(_)
    ) {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
}

fn string(s: &str) -> String {
    if needs_quotes(s) {
        let mut out = String::new();
        json_string(s, &mut out);
        out
    } else {
        s.to_owned()
    }
}

fn key(k: &str) -> String {
    string(k)
}

fn emit_map(map: &Map<String, Value>, indent: usize, out: &mut String) {
    for (k, v) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key(k));
        out.push(':');
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                emit_map(m, indent + 2, out);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_seq(a, indent, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn emit_seq(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        out.push_str(&" ".repeat(indent + 1));
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => {
                let mut inner = String::new();
                emit_map(m, indent + 3, &mut inner);
                out.push_str(inner.trim_start_matches(' '));
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_seq(a, indent + 2, out);
            }
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_emit() {
        let v = parse("a: 1\nb: [x, 'y', 2.5]\nc: ~\nd: \"true\"\n").unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": ["x", "y", 2.5], "c": null, "d": "true"})
        );
        assert_eq!(
            emit(&serde_json::json!(["string", 1, 1.123])),
            " - string\n - 1\n - 1.123\n"
        );
        assert_eq!(
            emit(&serde_json::json!({"a": "true", "b": {"c": 1}})),
            "a: \"true\"\nb:\n  c: 1\n"
        );
    }
}
