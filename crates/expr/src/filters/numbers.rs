//! Number filters: `abs`, `number`, `numberFormat`, `round`.

use serde_json::Value;

use super::bind;
use crate::context::Args;
use crate::value::{Num, as_num, float_value, type_name};

type R = Result<Value, String>;

/// Number filters; `None` when `name` is not one of them.
pub(crate) fn apply(name: &str, input: &Value, args: &Args) -> Option<R> {
    let r = match name {
        "abs" => match as_num(input) {
            Some(Num::Int(i)) => Ok(Value::from(i.wrapping_abs())),
            Some(Num::Float(f)) => float_value(f.abs()),
            None if input.is_null() => Err("cannot pass null value to 'abs' filter".into()),
            None => Err(format!(
                "requires a number as input, got {}",
                type_name(input)
            )),
        },
        "number" => number(input, args),
        "numberFormat" => (|| {
            let b = bind(args, &["format"])?;
            if input.is_null() {
                return Ok(Value::Null);
            }
            let n = as_num(input)
                .ok_or_else(|| format!("the input has to be a number, got {}", type_name(input)))?;
            let pattern = b.str("format")?.unwrap_or("#,##0.###");
            Ok(Value::String(decimal_format(n, pattern)))
        })(),
        "round" => (|| {
            let b = bind(args, &["precision"])?;
            let precision = b.int("precision")?.unwrap_or(0);
            match as_num(input) {
                None if input.is_null() => Ok(Value::Null),
                None => Err(format!(
                    "requires a number as input, got {}",
                    type_name(input)
                )),
                Some(Num::Int(i)) => Ok(Value::from(i)),
                Some(Num::Float(f)) if precision <= 0 => {
                    let r = f.round();
                    if r.abs() < 9.2e18 {
                        Ok(Value::from(r as i64))
                    } else {
                        float_value(r)
                    }
                }
                Some(Num::Float(f)) => {
                    let scale = 10f64.powi(precision.min(15) as i32);
                    float_value((f * scale).round() / scale)
                }
            }
        })(),
        _ => return None,
    };
    Some(r)
}

/// Commons-lang `NumberUtils.createNumber`, returning `i64` or `f64`.
fn create_number(text: &str, kind: &str) -> Result<Num, String> {
    let bad = || format!("'{text}' is not a valid number");
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let hex = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))
        .or_else(|| body.strip_prefix('#'));
    if let Some(h) = hex {
        let v = i64::from_str_radix(h, 16).map_err(|_| bad())?;
        return Ok(Num::Int(if neg { -v } else { v }));
    }
    let integer_kind = matches!(kind, "INT" | "LONG" | "BIGINTEGER");
    let float_kind = matches!(kind, "FLOAT" | "DOUBLE" | "BIGDECIMAL");
    let (digits, suffix) = match t.chars().last() {
        Some(c @ ('L' | 'l' | 'f' | 'F' | 'd' | 'D')) => (&t[..t.len() - 1], Some(c)),
        _ => (t, None),
    };
    let looks_float =
        digits.contains(['.', 'e', 'E']) || matches!(suffix, Some('f' | 'F' | 'd' | 'D'));
    if float_kind || (looks_float && !integer_kind) {
        return digits.parse::<f64>().map(Num::Float).map_err(|_| bad());
    }
    match digits.parse::<i64>() {
        Ok(i) => Ok(Num::Int(i)),
        Err(_) if !integer_kind => digits.parse::<f64>().map(Num::Float).map_err(|_| bad()),
        Err(_) => Err(bad()),
    }
}

fn number(input: &Value, args: &Args) -> R {
    let b = bind(args, &["type"])?;
    match input {
        Value::Null => Ok(Value::Null),
        Value::String(s) => {
            let kind = b.str("type")?.unwrap_or("");
            create_number(s, kind)?.into_value()
        }
        other => Err(format!(
            "can only be applied to a string, got {}",
            type_name(other)
        )),
    }
}

/// A subset of Java's `DecimalFormat` (en-US symbols): prefix/suffix text,
/// `0` and `#` digits, `,` grouping, `.` fraction, `%`; HALF_EVEN rounding.
pub(crate) fn decimal_format(n: Num, pattern: &str) -> String {
    let positive = pattern.split(';').next().unwrap_or(pattern);
    let is_num = |c: char| matches!(c, '0' | '#' | ',' | '.');
    let start = positive.find(is_num).unwrap_or(positive.len());
    let end = positive.rfind(is_num).map(|i| i + 1).unwrap_or(start);
    let prefix = positive[..start].replace('\'', "");
    let suffix = positive[end..].replace('\'', "");
    let body = &positive[start..end];
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let min_int = int_part.chars().filter(|c| *c == '0').count();
    let min_frac = frac_part.chars().filter(|c| *c == '0').count();
    let max_frac = frac_part.chars().filter(|c| matches!(c, '0' | '#')).count();
    let grouping = int_part
        .rfind(',')
        .map(|i| {
            int_part[i + 1..]
                .chars()
                .filter(|c| matches!(c, '0' | '#'))
                .count()
        })
        .filter(|g| *g > 0);
    let percent = prefix.contains('%') || suffix.contains('%');

    let (negative, int_digits, mut frac_digits) = match n {
        Num::Int(i) if !percent || i.checked_mul(100).is_some() => {
            let i = if percent { i * 100 } else { i };
            (i < 0, i.unsigned_abs().to_string(), String::new())
        }
        other => {
            let mut f = other.as_f64();
            if percent {
                f *= 100.0;
            }
            let text = format!("{:.*}", max_frac, f.abs());
            let (i, fr) = text.split_once('.').unwrap_or((text.as_str(), ""));
            let nonzero = text.chars().any(|c| c.is_ascii_digit() && c != '0');
            (f < 0.0 && nonzero, i.to_owned(), fr.to_owned())
        }
    };
    while frac_digits.len() > min_frac && frac_digits.ends_with('0') {
        frac_digits.pop();
    }
    while frac_digits.len() < min_frac {
        frac_digits.push('0');
    }
    let mut int_digits = int_digits.trim_start_matches('0').to_owned();
    while int_digits.len() < min_int {
        int_digits.insert(0, '0');
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        int_digits.push('0');
    }
    if let Some(g) = grouping {
        let chars: Vec<char> = int_digits.chars().collect();
        let mut grouped = String::new();
        for (i, c) in chars.iter().enumerate() {
            if i > 0 && (chars.len() - i).is_multiple_of(g) {
                grouped.push(',');
            }
            grouped.push(*c);
        }
        int_digits = grouped;
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&prefix);
    out.push_str(&int_digits);
    if !frac_digits.is_empty() {
        out.push('.');
        out.push_str(&frac_digits);
    }
    out.push_str(&suffix);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_format_like_java() {
        assert_eq!(decimal_format(Num::Float(1.232654), "#.##"), "1.23");
        assert_eq!(decimal_format(Num::Float(0.5), "#.##"), ".5");
        assert_eq!(decimal_format(Num::Int(0), "#.##"), "0");
        assert_eq!(
            decimal_format(Num::Float(1234567.891), "#,##0.00"),
            "1,234,567.89"
        );
        assert_eq!(decimal_format(Num::Int(1234567), "#,##0.###"), "1,234,567");
        assert_eq!(decimal_format(Num::Float(0.256), "0.0%"), "25.6%");
        assert_eq!(decimal_format(Num::Int(-42), "000"), "-042");
    }
}
