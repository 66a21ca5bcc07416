//! String filters.

use serde_json::{Map, Value};

use super::bind;
use crate::codec;
use crate::context::Args;
use crate::javafmt::java_string;
use crate::value::type_name;

type R = Result<Value, String>;

fn s(v: &Value) -> String {
    java_string(v)
}

/// String filters; `None` when `name` is not one of them.
pub(crate) fn apply(name: &str, input: &Value, args: &Args) -> Option<R> {
    let r = match name {
        "raw" | "escape" => Ok(input.clone()),
        "abbreviate" => abbreviate(input, args),
        "capitalize" => map_str(input, |v| {
            let mut out = String::with_capacity(v.len());
            let mut done = false;
            for c in v.chars() {
                if !done && !c.is_whitespace() {
                    out.extend(c.to_uppercase());
                    done = true;
                } else {
                    out.push(c);
                }
            }
            out
        }),
        "title" => map_str(input, |v| {
            let mut out = String::with_capacity(v.len());
            let mut next_upper = true;
            for c in v.chars() {
                if c.is_whitespace() {
                    next_upper = true;
                    out.push(c);
                } else if next_upper {
                    out.extend(c.to_uppercase());
                    next_upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        }),
        "lower" => map_str(input, |v| v.to_lowercase()),
        "upper" => map_str(input, |v| v.to_uppercase()),
        "trim" => map_str(input, |v| v.trim_matches(|c: char| c <= ' ').to_owned()),
        "replace" => replace(input, args),
        "split" => split(input, args),
        "startsWith" | "endsWith" => (|| {
            let b = bind(args, &["value"])?;
            let needle = b.get("value").map(s).ok_or("expects an argument 'value'")?;
            if input.is_null() {
                return Ok(Value::Bool(false));
            }
            let hay = s(input);
            Ok(Value::Bool(if name == "startsWith" {
                hay.starts_with(&needle)
            } else {
                hay.ends_with(&needle)
            }))
        })(),
        "substringBefore" | "substringBeforeLast" | "substringAfter" | "substringAfterLast" => {
            substring(name, input, args)
        }
        "slugify" => map_str(input, slugify),
        "escapeChar" => escape_char(input, args),
        "indent" | "nindent" => indent(name == "nindent", input, args),
        "urlencode" => map_str(input, codec::url_encode),
        "urldecode" => match input {
            Value::Null => Ok(Value::Null),
            v => codec::url_decode(&s(v)).map(Value::String),
        },
        "base64encode" => map_str(input, |v| codec::base64_encode(v.as_bytes())),
        "base64decode" => match input {
            Value::Null => Ok(Value::Null),
            Value::String(v) => codec::base64_decode(v)
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| "decoded bytes are not UTF-8".into())
                })
                .map(Value::String)
                .map_err(|e| {
                    format!("please provide a correctly base64 encoded UTF-8 string ({e})")
                }),
            other => Err(format!("expects a string, got {}", type_name(other))),
        },
        _ => return None,
    };
    Some(r)
}

/// Applies `f` to the string form of `input`; `null` stays `null`.
fn map_str(input: &Value, f: impl Fn(&str) -> String) -> R {
    match input {
        Value::Null => Ok(Value::Null),
        Value::String(v) => Ok(Value::String(f(v))),
        other => Ok(Value::String(f(&s(other)))),
    }
}

fn abbreviate(input: &Value, args: &Args) -> R {
    let b = bind(args, &["length"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let max = b.req_int("length")?;
    if max < 0 {
        return Err("invalid argument: length must be greater than zero".into());
    }
    let max = max as usize;
    let value = s(input);
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < max || chars.len() <= 3 {
        return Ok(Value::String(value));
    }
    if max <= 3 {
        return Ok(Value::String(chars[..max].iter().collect()));
    }
    let mut out: String = chars[..max - 3].iter().collect();
    out.push_str("...");
    Ok(Value::String(out))
}

/// Java's `String.split(regex, limit)`.
pub(crate) fn java_split(input: &str, delimiter: &str, limit: i64) -> R {
    let re = regex::Regex::new(delimiter).map_err(|e| format!("invalid delimiter regex: {e}"))?;
    let mut parts: Vec<&str> = Vec::new();
    let mut last = 0;
    for m in re.find_iter(input) {
        if limit > 0 && parts.len() as i64 >= limit - 1 {
            break;
        }
        if m.end() == 0 {
            // A zero-width match at the beginning never yields an empty leading part.
            continue;
        }
        if m.start() == m.end() && m.start() == input.len() {
            break;
        }
        parts.push(&input[last..m.start()]);
        last = m.end();
    }
    parts.push(&input[last..]);
    if limit == 0 && input.is_empty() {
        return Ok(Value::Array(vec![Value::String(String::new())]));
    }
    if limit == 0 {
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.len() == 1 && parts[0].is_empty() && !input.is_empty() {
            parts.clear();
        }
    }
    Ok(Value::Array(
        parts
            .into_iter()
            .map(|p| Value::String(p.to_owned()))
            .collect(),
    ))
}

fn split(input: &Value, args: &Args) -> R {
    let b = bind(args, &["delimiter", "limit"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let delimiter = b
        .str("delimiter")?
        .ok_or("missing delimiter parameter in split filter")?;
    let limit = b.int("limit")?.unwrap_or(0);
    java_split(&s(input), delimiter, limit)
}

/// Converts a Java regex replacement (`$1`, `\$`) to the `regex` crate's syntax.
fn java_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn replace(input: &Value, args: &Args) -> R {
    let b = bind(args, &["replace_pairs", "regexp"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let pairs = match b.get("replace_pairs") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(format!(
                "argument 'replace_pairs' must be a map, got {}",
                type_name(other)
            ));
        }
        None => return Err("the argument 'replace_pairs' is required".into()),
    };
    let regexp = match b.get("regexp") {
        None => false,
        Some(Value::Bool(x)) => *x,
        Some(other) => {
            return Err(format!(
                "argument 'regexp' must be a boolean, got {}",
                type_name(other)
            ));
        }
    };
    let mut compiled = Vec::new();
    for (k, v) in pairs {
        let to = s(v);
        if regexp {
            let re = regex::Regex::new(k).map_err(|e| format!("invalid regex '{k}': {e}"))?;
            compiled.push((k.clone(), Some(re), java_replacement(&to)));
        } else {
            compiled.push((k.clone(), None, to));
        }
    }
    let one = |text: &str| {
        let mut data = text.to_owned();
        for (from, re, to) in &compiled {
            data = match re {
                Some(re) => re.replace_all(&data, to.as_str()).into_owned(),
                None => data.replace(from.as_str(), to),
            };
        }
        Value::String(data)
    };
    Ok(deep_map_strings(input, &one))
}

/// Applies `f` to every string (non-strings are stringified) of nested maps and lists.
fn deep_map_strings(v: &Value, f: &dyn Fn(&str) -> Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), deep_map_strings(x, f)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| deep_map_strings(x, f)).collect()),
        Value::String(x) => f(x),
        other => f(&s(other)),
    }
}

fn substring(name: &str, input: &Value, args: &Args) -> R {
    let b = bind(args, &["separator"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    if !b.has("separator") {
        return Err("expects an argument 'separator'".into());
    }
    let sep = b.get("separator").map(s);
    let text = s(input);
    let out = match (name, sep) {
        ("substringBefore", Some(sep)) if !sep.is_empty() => match text.find(&sep) {
            Some(i) => text[..i].to_owned(),
            None => text,
        },
        ("substringBefore", _) => String::new(),
        ("substringBeforeLast", Some(sep)) if !sep.is_empty() => match text.rfind(&sep) {
            Some(i) => text[..i].to_owned(),
            None => text,
        },
        ("substringBeforeLast", _) => text,
        ("substringAfter", Some(sep)) => match text.find(&sep) {
            Some(i) => text[i + sep.len()..].to_owned(),
            None => String::new(),
        },
        ("substringAfterLast", Some(sep)) if !sep.is_empty() => match text.rfind(&sep) {
            Some(i) => text[i + sep.len()..].to_owned(),
            None => String::new(),
        },
        _ => String::new(),
    };
    Ok(Value::String(out))
}

fn fold_accent(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        _ => return None,
    })
}

/// Kestra's `Slugify.of`.
pub(crate) fn slugify(input: &str) -> String {
    let mut slug = String::with_capacity(input.len());
    for c in input.chars() {
        let c = if c.is_whitespace() { '-' } else { c };
        let c = fold_accent(c).unwrap_or(c);
        if c.is_ascii_alphanumeric() || c == '-' {
            slug.push(c);
        } else if c == '_' {
            slug.push('-');
        }
    }
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.strip_prefix('-').unwrap_or(&slug);
    let slug = slug.strip_suffix('-').unwrap_or(slug);
    slug.to_ascii_lowercase()
}

fn escape_char(input: &Value, args: &Args) -> R {
    let b = bind(args, &["type"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let kind = b.str("type")?.ok_or("expects an argument 'type'")?;
    let (from, to) = match kind.to_ascii_lowercase().as_str() {
        "single" => ("'", "\\'"),
        "double" => ("\"", "\\\""),
        "shell" => ("'", "'\\''"),
        _ => {
            return Err("the value of 'type' must be either 'single', 'double', or 'shell'".into());
        }
    };
    Ok(deep_map_strings(input, &|x| {
        Value::String(x.replace(from, to))
    }))
}

fn line_separator(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else if text.contains("\n\r") {
        "\n\r"
    } else if text.contains('\n') {
        "\n"
    } else if text.contains('\r') {
        "\r"
    } else {
        "\n"
    }
}

fn indent(nindent: bool, input: &Value, args: &Args) -> R {
    let b = bind(args, &["amount", "prefix"])?;
    if input.is_null() {
        return Ok(Value::Null);
    }
    let text = s(input);
    if text.is_empty() {
        return Ok(Value::String(text));
    }
    let amount = b.req_int("amount")?;
    if amount < 0 {
        return Err("expects a positive integer >= 0 as argument 'amount'".into());
    }
    let prefix = b.str("prefix")?.unwrap_or(" ");
    let nl = line_separator(&text);
    let pad = prefix.repeat(amount as usize);
    let with = format!("{nl}{pad}");
    let base = if nindent { format!("{nl}{text}") } else { text };
    Ok(Value::String(base.replace(nl, &with)))
}
