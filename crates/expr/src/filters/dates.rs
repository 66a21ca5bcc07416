//! Date filters: `date`, `dateAdd`, `timestamp`, `timestampMicro`, `timestampNano`.

use jiff::tz::TimeZone;
use serde_json::Value;

use super::{Bound, bind};
use crate::context::Args;
use crate::date;
use crate::eval::Evaluator;

type R = Result<Value, String>;

fn zone_of(ev: &Evaluator<'_>, b: &Bound) -> Result<TimeZone, String> {
    match b.str("timeZone")? {
        Some(name) => date::zone(name),
        None => Ok(ev.ctx.default_tz()),
    }
}

/// Date filters; `None` when `name` is not one of them.
pub(crate) fn apply(ev: &Evaluator<'_>, name: &str, input: &Value, args: &Args) -> Option<R> {
    let r = match name {
        "date" => (|| {
            let b = bind(args, &["format", "timeZone", "existingFormat", "locale"])?;
            if input.is_null() {
                return Ok(Value::Null);
            }
            let tz = zone_of(ev, &b)?;
            let z = date::to_zoned(input, &tz, b.str("existingFormat")?)?;
            let fmt = b.str("format")?.unwrap_or("iso");
            date::format(&z, fmt).map(Value::String)
        })(),
        "dateAdd" => (|| {
            let b = bind(
                args,
                &[
                    "amount",
                    "unit",
                    "format",
                    "timeZone",
                    "existingFormat",
                    "locale",
                ],
            )?;
            if input.is_null() {
                return Ok(Value::Null);
            }
            let amount = b.req_int("amount")?;
            let unit = b.req_str("unit")?;
            let tz = zone_of(ev, &b)?;
            let z = date::to_zoned(input, &tz, b.str("existingFormat")?)?;
            let z = date::add(&z, amount, unit)?;
            let fmt = b.str("format")?.unwrap_or("iso");
            date::format(&z, fmt).map(Value::String)
        })(),
        "timestamp" | "timestampMicro" | "timestampNano" => (|| {
            let b = bind(args, &["timeZone", "existingFormat"])?;
            if input.is_null() {
                return Ok(Value::Null);
            }
            let tz = zone_of(ev, &b)?;
            let z = date::to_zoned(input, &tz, b.str("existingFormat")?)?;
            let secs = z.timestamp().as_second();
            let nanos = i128::from(z.subsec_nanosecond());
            Ok(match name {
                "timestamp" => Value::from(secs),
                // Kestra's timestampMicro adds microseconds to epoch *nanoseconds*
                // (seconds * 10^9 + nanos / 1000); reproduced as is.
                "timestampMicro" => {
                    Value::String((i128::from(secs) * 1_000_000_000 + nanos / 1000).to_string())
                }
                _ => Value::String((i128::from(secs) * 1_000_000_000 + nanos).to_string()),
            })
        })(),
        _ => return None,
    };
    Some(r)
}
