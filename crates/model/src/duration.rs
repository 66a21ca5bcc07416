//! ISO-8601 durations as Kestra writes them (`PT15M`, `P1DT2H`, `PT0.5S`), like `java.time.Duration`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative ISO-8601 duration (days, hours, minutes, seconds; a day is 24 hours).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ISO-8601 duration '{0}' (expected a form like PT15M, PT1H30M, P1D or PT0.5S)")]
pub struct DurationError(pub String);

impl Duration {
    pub fn from_secs(seconds: u64) -> Self {
        Self(std::time::Duration::from_secs(seconds))
    }

    pub fn as_std(self) -> std::time::Duration {
        self.0
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text).ok_or_else(|| DurationError(text.to_string()))
    }
}

fn parse(text: &str) -> Option<Duration> {
    let upper = text.trim().to_ascii_uppercase();
    let body = upper.strip_prefix('P')?;
    if body.is_empty() {
        return None;
    }
    let (date_part, time_part) = match body.split_once('T') {
        Some((date, time)) => {
            if time.is_empty() {
                return None;
            }
            (date, Some(time))
        }
        None => (body, None),
    };
    let mut nanos: u128 = 0;
    if !date_part.is_empty() {
        let days = date_part.strip_suffix('D')?;
        nanos += parse_whole(days)? * 86_400 * 1_000_000_000;
    }
    if let Some(time) = time_part {
        let mut rest = time;
        let mut last_unit = 0;
        while !rest.is_empty() {
            let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
            let (number, unit) = (&rest[..end], rest.as_bytes()[end]);
            let rank = match unit {
                b'H' => 1,
                b'M' => 2,
                b'S' => 3,
                _ => return None,
            };
            if rank <= last_unit {
                return None;
            }
            last_unit = rank;
            nanos += match unit {
                b'H' => parse_whole(number)? * 3_600 * 1_000_000_000,
                b'M' => parse_whole(number)? * 60 * 1_000_000_000,
                _ => parse_seconds(number)?,
            };
            rest = &rest[end + 1..];
        }
    }
    let seconds = u64::try_from(nanos / 1_000_000_000).ok()?;
    let subsec = u32::try_from(nanos % 1_000_000_000).ok()?;
    Some(Duration(std::time::Duration::new(seconds, subsec)))
}

fn parse_whole(number: &str) -> Option<u128> {
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

fn parse_seconds(number: &str) -> Option<u128> {
    let (whole, fraction) = number.split_once(['.', ',']).unwrap_or((number, ""));
    let mut nanos = parse_whole(whole)? * 1_000_000_000;
    if !fraction.is_empty() {
        if fraction.len() > 9 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{fraction:0<9}");
        nanos += padded.parse::<u128>().ok()?;
    }
    Some(nanos)
}

impl fmt::Display for Duration {
    /// Prints the shortest ISO-8601 form, as `java.time.Duration#toString` does (`PT1H30M`, `PT0S`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0.as_secs();
        let (hours, minutes, seconds) = (total / 3600, (total % 3600) / 60, total % 60);
        let nanos = self.0.subsec_nanos();
        f.write_str("PT")?;
        if hours > 0 {
            write!(f, "{hours}H")?;
        }
        if minutes > 0 {
            write!(f, "{minutes}M")?;
        }
        if seconds > 0 || nanos > 0 || total == 0 {
            if nanos > 0 {
                let fraction = format!("{nanos:09}");
                write!(f, "{seconds}.{}S", fraction.trim_end_matches('0'))?;
            } else {
                write!(f, "{seconds}S")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "duration" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_durations() {
        let cases = [
            ("PT15M", 900.0),
            ("PT1H30M", 5400.0),
            ("P1D", 86400.0),
            ("P1DT1S", 86401.0),
            ("PT0.5S", 0.5),
            ("pt2s", 2.0),
            ("PT0S", 0.0),
        ];
        for (text, seconds) in cases {
            let duration: Duration = text.parse().expect(text);
            assert!((duration.0.as_secs_f64() - seconds).abs() < 1e-9, "{text}");
        }
        for bad in [
            "",
            "P",
            "PT",
            "15M",
            "PT1M1H",
            "P1W",
            "PTXS",
            "PT1.1234567891S",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_shortest_form() {
        for text in ["PT15M", "PT1H30M", "PT0.5S", "PT0S", "PT24H"] {
            assert_eq!(text.parse::<Duration>().expect(text).to_string(), text);
        }
    }
}
