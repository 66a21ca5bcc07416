//! Dates for the `date`, `dateAdd`, `timestamp*` filters and `now()`,
//! following Kestra's `AbstractDate`: inputs are epoch seconds (integers)
//! or ISO strings (zoned, then local date-time, then local date), and
//! formats are Kestra's named formats or Java `DateTimeFormatter` patterns.
//!
//! Time zones come from the tz database bundled into the binary (no I/O).

pub(crate) mod pattern;

use std::sync::LazyLock;

use jiff::civil::{Date, DateTime};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Span, Timestamp, ZonedDateTime};
use serde_json::Value;

use crate::value::{Num, as_num, type_name};

static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Looks up a time zone as Java's `ZoneId.of` would: IANA names, `UTC`,
/// `Z`, `GMT`, fixed offsets such as `+02:00`, `UTC+2`, `GMT-05:30`.
pub(crate) fn zone(name: &str) -> Result<TimeZone, String> {
    match name {
        "Z" | "UTC" | "GMT" | "UT" => return Ok(TimeZone::UTC),
        _ => {}
    }
    let offset_part = name
        .strip_prefix("UTC")
        .or_else(|| name.strip_prefix("GMT"))
        .or_else(|| name.strip_prefix("UT"))
        .unwrap_or(name);
    if offset_part.starts_with(['+', '-']) {
        if let Some(secs) = parse_offset(offset_part) {
            let off = jiff::tz::Offset::from_seconds(secs)
                .map_err(|e| format!("invalid offset '{name}': {e}"))?;
            return Ok(TimeZone::fixed(off));
        }
        return Err(format!("invalid time zone offset '{name}'"));
    }
    TZDB.get(name)
        .map_err(|_| format!("unknown time zone '{name}'"))
}

fn parse_offset(s: &str) -> Option<i32> {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let body = &s[1..];
    let digits: String = body.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || !body.chars().all(|c| c.is_ascii_digit() || c == ':') {
        return None;
    }
    let (h, m, sec) = if body.contains(':') {
        let mut it = body.split(':').map(|p| p.parse::<i32>().ok());
        (
            it.next()??,
            it.next().flatten().unwrap_or(0),
            it.next().flatten().unwrap_or(0),
        )
    } else {
        match digits.len() {
            1 | 2 => (digits.parse().ok()?, 0, 0),
            4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?, 0),
            6 => (
                digits[..2].parse().ok()?,
                digits[2..4].parse().ok()?,
                digits[4..].parse().ok()?,
            ),
            _ => return None,
        }
    };
    if h > 18 || m > 59 || sec > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + sec))
}

/// Kestra's named formats that are plain patterns.
fn named_pattern(name: &str) -> Option<&'static str> {
    Some(match name {
        "iso" => "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
        "iso_sec" => "yyyy-MM-dd'T'HH:mm:ssXXX",
        "sql" => "yyyy-MM-dd HH:mm:ss.SSSSSS",
        "sql_seq" => "yyyy-MM-dd HH:mm:ss",
        _ => return None,
    })
}

/// Java's `ISO_LOCAL_TIME`: seconds always, fraction only when non-zero.
fn iso_local_time(z: &ZonedDateTime) -> String {
    let mut s = format!("{:02}:{:02}:{:02}", z.hour(), z.minute(), z.second());
    let nanos = z.subsec_nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s
}

fn iso_offset(z: &ZonedDateTime) -> String {
    let secs = z.offset().seconds();
    if secs == 0 {
        return "Z".to_owned();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

fn iso_date(z: &ZonedDateTime) -> String {
    let y = z.year();
    if (0..=9999).contains(&y) {
        format!("{y:04}-{:02}-{:02}", z.month(), z.day())
    } else {
        format!("{y:+05}-{:02}-{:02}", z.month(), z.day())
    }
}

/// Formats `z` with a Kestra format name or a Java pattern.
pub(crate) fn format(z: &ZonedDateTime, fmt: &str) -> Result<String, String> {
    if let Some(p) = named_pattern(fmt) {
        return pattern::format(z, p);
    }
    let ldt = || format!("{}T{}", iso_date(z), iso_local_time(z));
    let region = || match z.time_zone().iana_name() {
        Some(name) => format!("[{name}]"),
        None => String::new(),
    };
    Ok(match fmt {
        "iso_local_date" => iso_date(z),
        "iso_date" => format!("{}{}", iso_date(z), iso_offset(z)),
        "iso_local_time" => iso_local_time(z),
        "iso_time" | "iso_offset_time" => format!("{}{}", iso_local_time(z), iso_offset(z)),
        "iso_local_date_time" => ldt(),
        "iso_offset_date_time" => format!("{}{}", ldt(), iso_offset(z)),
        "iso_date_time" | "iso_zoned_date_time" => {
            format!("{}{}{}", ldt(), iso_offset(z), region())
        }
        "iso_ordinal_date" => format!("{:04}-{:03}{}", z.year(), z.day_of_year(), iso_offset(z)),
        "iso_week_date" => {
            let w = z.date().iso_week_date();
            format!(
                "{:04}-W{:02}-{}{}",
                w.year(),
                w.week(),
                w.weekday().to_monday_one_offset(),
                iso_offset(z)
            )
        }
        "iso_instant" => {
            let u = z.with_time_zone(TimeZone::UTC);
            let mut s = format!(
                "{}T{:02}:{:02}:{:02}",
                iso_date(&u),
                u.hour(),
                u.minute(),
                u.second()
            );
            let nanos = u.subsec_nanosecond();
            if nanos != 0 {
                let frac = format!("{nanos:09}");
                let mut digits = frac.trim_end_matches('0').len();
                digits = digits.div_ceil(3) * 3;
                s.push('.');
                s.push_str(&frac[..digits]);
            }
            s.push('Z');
            s
        }
        "rfc_1123_date_time" => {
            let off = if z.offset().seconds() == 0 {
                "GMT".to_owned()
            } else {
                pattern::format(z, "Z")?
            };
            format!("{} {off}", pattern::format(z, "EEE, d MMM yyyy HH:mm:ss")?)
        }
        "short" => pattern::format(z, "M/d/yy, h:mm a")?,
        "medium" => pattern::format(z, "MMM d, yyyy, h:mm:ss a")?,
        "long" => pattern::format(z, "MMMM d, yyyy 'at' h:mm:ss a z")?,
        "full" => pattern::format(z, "EEEE, MMMM d, yyyy 'at' h:mm:ss a z")?,
        other => pattern::format(z, other)?,
    })
}

fn from_timestamp(ts: Timestamp, tz: &TimeZone) -> ZonedDateTime {
    ts.to_zoned_datetime(tz.clone())
}

fn local(dt: DateTime, tz: &TimeZone) -> Result<ZonedDateTime, String> {
    dt.to_zoned_datetime(tz.clone()).map_err(|e| e.to_string())
}

/// Parses a string with an `existingFormat` (a name or a Java pattern).
fn parse_with(text: &str, fmt: &str, tz: &TimeZone) -> Result<ZonedDateTime, String> {
    if fmt == "rfc_1123_date_time" {
        let z = jiff::fmt::rfc2822::parse(text).map_err(|e| e.to_string())?;
        return Ok(z.with_time_zone(tz.clone()));
    }
    if fmt.starts_with("iso") && named_pattern(fmt).is_none() {
        return parse_iso(text, tz);
    }
    let pattern = named_pattern(fmt).unwrap_or(fmt);
    let strp = pattern::to_strptime(pattern)?;
    let tm = jiff::fmt::strtime::parse(&strp, text)
        .map_err(|e| format!("could not parse '{text}' with format '{fmt}': {e}"))?;
    if let Ok(z) = tm.to_zoned_datetime() {
        return Ok(z.with_time_zone(tz.clone()));
    }
    if let Ok(ts) = tm.to_timestamp() {
        return Ok(from_timestamp(ts, tz));
    }
    if let Ok(dt) = tm.to_datetime() {
        return local(dt, tz);
    }
    match tm.to_date() {
        Ok(d) => local(d.to_datetime(jiff::civil::Time::midnight()), tz),
        Err(e) => Err(format!("could not parse '{text}' with format '{fmt}': {e}")),
    }
}

/// ISO parsing as Kestra: zoned date-time, else local date-time, else date.
fn parse_iso(text: &str, tz: &TimeZone) -> Result<ZonedDateTime, String> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(from_timestamp(ts, tz));
    }
    if let Ok(z) = text.parse::<ZonedDateTime>() {
        return Ok(z.with_time_zone(tz.clone()));
    }
    if text.contains('T') || text.contains(' ') {
        if let Ok(dt) = text.parse::<DateTime>() {
            return local(dt, tz);
        }
    } else if let Ok(d) = text.parse::<Date>() {
        return local(d.to_datetime(jiff::civil::Time::midnight()), tz);
    }
    Err(format!("could not parse the string '{text}' into a date"))
}

/// Turns a filter input into a date in `tz` (Kestra's `AbstractDate.convert`).
pub(crate) fn to_zoned(
    input: &Value,
    tz: &TimeZone,
    existing: Option<&str>,
) -> Result<ZonedDateTime, String> {
    match input {
        Value::Number(_) => {
            let ts = match as_num(input) {
                Some(Num::Int(secs)) => Timestamp::from_second(secs),
                Some(Num::Float(f)) => Timestamp::from_nanosecond((f * 1e9) as i128),
                None => return Err("invalid number".to_owned()),
            }
            .map_err(|e| format!("invalid epoch seconds: {e}"))?;
            Ok(from_timestamp(ts, tz))
        }
        Value::String(s) => match existing {
            Some(fmt) => parse_with(s, fmt, tz),
            None => parse_iso(s, tz),
        },
        other => Err(format!(
            "unsupported date input of type {} (expected a string or epoch seconds)",
            type_name(other)
        )),
    }
}

/// `ZonedDateTime.plus(amount, ChronoUnit.valueOf(unit))`.
pub(crate) fn add(z: &ZonedDateTime, amount: i64, unit: &str) -> Result<ZonedDateTime, String> {
    let span = match unit {
        "NANOS" => Span::new().try_nanoseconds(amount),
        "MICROS" => Span::new().try_microseconds(amount),
        "MILLIS" => Span::new().try_milliseconds(amount),
        "SECONDS" => Span::new().try_seconds(amount),
        "MINUTES" => Span::new().try_minutes(amount),
        "HOURS" => Span::new().try_hours(amount),
        "HALF_DAYS" => Span::new().try_hours(amount.saturating_mul(12)),
        "DAYS" => Span::new().try_days(amount),
        "WEEKS" => Span::new().try_weeks(amount),
        "MONTHS" => Span::new().try_months(amount),
        "YEARS" => Span::new().try_years(amount),
        "DECADES" => Span::new().try_years(amount.saturating_mul(10)),
        "CENTURIES" => Span::new().try_years(amount.saturating_mul(100)),
        "MILLENNIA" => Span::new().try_years(amount.saturating_mul(1000)),
        other => {
            return Err(format!(
                "unknown unit '{other}' (expected one of NANOS, MICROS, MILLIS, SECONDS, MINUTES, HOURS, HALF_DAYS, DAYS, WEEKS, MONTHS, YEARS, DECADES, CENTURIES, MILLENNIA)"
            ));
        }
    }
    .map_err(|e| e.to_string())?;
    z.checked_add(span).map_err(|e| e.to_string())
}
