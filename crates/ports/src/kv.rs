//! The key-value store: typed values per namespace, with optional expiry (Kestra's KV store).
//!
//! Time is a parameter (`now`): the store never reads a clock, so expiry is testable and the
//! caller decides which clock counts.

mod over_storage;

pub use over_storage::StorageKv;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::future::BoxFuture;
use crate::storage;

/// The type a value is stored and read back as (Kestra's `KVType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KvType {
    String,
    Number,
    Boolean,
    Datetime,
    Date,
    Duration,
    Json,
}

impl KvType {
    pub fn name(self) -> &'static str {
        match self {
            KvType::String => "STRING",
            KvType::Number => "NUMBER",
            KvType::Boolean => "BOOLEAN",
            KvType::Datetime => "DATETIME",
            KvType::Date => "DATE",
            KvType::Duration => "DURATION",
            KvType::Json => "JSON",
        }
    }
}

/// A typed value.
#[derive(Clone, Debug, PartialEq)]
pub enum KvValue {
    String(String),
    Number(serde_json::Number),
    Boolean(bool),
    Datetime(Timestamp),
    Date(Date),
    Duration(peregrine_model::Duration),
    Json(Value),
}

impl KvValue {
    pub fn kv_type(&self) -> KvType {
        match self {
            KvValue::String(_) => KvType::String,
            KvValue::Number(_) => KvType::Number,
            KvValue::Boolean(_) => KvType::Boolean,
            KvValue::Datetime(_) => KvType::Datetime,
            KvValue::Date(_) => KvType::Date,
            KvValue::Duration(_) => KvType::Duration,
            KvValue::Json(_) => KvType::Json,
        }
    }

    /// The type of a plain JSON value: text, number, boolean, anything else JSON.
    pub fn guess(value: Value) -> Self {
        match value {
            Value::String(text) => KvValue::String(text),
            Value::Number(number) => KvValue::Number(number),
            Value::Bool(flag) => KvValue::Boolean(flag),
            other => KvValue::Json(other),
        }
    }

    /// Reads text as `kv_type`, as Kestra's `kv.Set` does with `kvType` (booleans like Java's
    /// `parseBoolean`: anything but "true" is false).
    pub fn parse(kv_type: KvType, text: &str) -> Result<Self, Error> {
        let invalid = |message: String| Error::InvalidValue { kv_type, message };
        Ok(match kv_type {
            KvType::String => KvValue::String(text.to_string()),
            KvType::Number => match serde_json::from_str(text.trim()) {
                Ok(Value::Number(number)) => KvValue::Number(number),
                _ => return Err(invalid(format!("'{text}' is not a number"))),
            },
            KvType::Boolean => KvValue::Boolean(text.trim().eq_ignore_ascii_case("true")),
            KvType::Datetime => KvValue::Datetime(
                text.trim()
                    .parse()
                    .map_err(|error| invalid(format!("'{text}': {error}")))?,
            ),
            KvType::Date => {
                KvValue::Date(parse_date(text.trim()).ok_or_else(|| {
                    invalid(format!("'{text}' is neither a date nor a date-time"))
                })?)
            }
            KvType::Duration => KvValue::Duration(text.parse().map_err(
                |error: peregrine_model::duration::DurationError| invalid(error.to_string()),
            )?),
            KvType::Json => KvValue::Json(
                serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?,
            ),
        })
    }

    /// The value as JSON, as Kestra outputs it: date-times, dates and durations as ISO-8601 text.
    pub fn to_json(&self) -> Value {
        match self {
            KvValue::String(text) => Value::String(text.clone()),
            KvValue::Number(number) => Value::Number(number.clone()),
            KvValue::Boolean(flag) => Value::Bool(*flag),
            KvValue::Datetime(instant) => Value::String(instant.to_string()),
            KvValue::Date(date) => Value::String(date.to_string()),
            KvValue::Duration(duration) => Value::String(duration.to_string()),
            KvValue::Json(value) => value.clone(),
        }
    }

    /// Reads back a value written by [`KvValue::to_json`] with its type.
    pub fn from_json(kv_type: KvType, value: Value) -> Result<Self, Error> {
        match (kv_type, value) {
            (KvType::Json, value) => Ok(KvValue::Json(value)),
            (KvType::String, Value::String(text)) => Ok(KvValue::String(text)),
            (KvType::Number, Value::Number(number)) => Ok(KvValue::Number(number)),
            (KvType::Boolean, Value::Bool(flag)) => Ok(KvValue::Boolean(flag)),
            (KvType::Datetime | KvType::Date | KvType::Duration, Value::String(text)) => {
                Self::parse(kv_type, &text)
            }
            (kv_type, value) => Err(Error::InvalidValue {
                kv_type,
                message: format!("{value} is not of this type"),
            }),
        }
    }
}

fn parse_date(text: &str) -> Option<Date> {
    text.parse::<Date>().ok().or_else(|| {
        text.parse::<Timestamp>()
            .ok()
            .map(|instant| jiff::tz::TimeZone::UTC.to_datetime(instant).date())
    })
}

/// What is known of a key besides its value.
#[derive(Clone, Debug, PartialEq)]
pub struct KvEntry {
    pub key: String,
    pub description: Option<String>,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// When the value stops existing; `None` keeps it forever.
    pub expires: Option<Timestamp>,
}

impl KvEntry {
    /// True when the value has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }
}

/// A key with its value.
#[derive(Clone, Debug, PartialEq)]
pub struct KvRecord {
    pub entry: KvEntry,
    pub value: KvValue,
}

/// A value to store and how.
#[derive(Clone, Debug, PartialEq)]
pub struct KvPut {
    pub value: KvValue,
    pub description: Option<String>,
    /// How long the value lives from `now`; `None` keeps it forever.
    pub ttl: Option<peregrine_model::Duration>,
    /// Replace a live value; when false, an existing unexpired key is an error.
    pub overwrite: bool,
}

impl KvPut {
    /// A value kept forever, replacing any previous one.
    pub fn new(value: KvValue) -> Self {
        Self {
            value,
            description: None,
            ttl: None,
            overwrite: true,
        }
    }
}

/// Why a key-value operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid key '{0}': a key starts with a letter or digit and holds only letters, digits, '.', '_' and '-'"
    )]
    InvalidKey(String),
    #[error("cannot set key '{0}': it exists and `overwrite` is false")]
    AlreadyExists(String),
    #[error("invalid {} value: {message}", kv_type.name())]
    InvalidValue { kv_type: KvType, message: String },
    #[error("ttl {0} is too long")]
    InvalidTtl(peregrine_model::Duration),
    #[error("stored value of key '{key}' is unreadable: {message}")]
    Corrupt { key: String, message: String },
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

/// Checks Kestra's key pattern `[a-zA-Z0-9][a-zA-Z0-9._-]*`.
pub fn validate_key(key: &str) -> Result<(), Error> {
    let mut characters = key.chars();
    let valid = characters.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && characters.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidKey(key.to_string()))
    }
}

/// The key-value stores of every namespace.
///
/// Keys are validated by [`validate_key`]. An expired key is absent for `get`, `list` and the
/// `overwrite` check, whether or not the backend has purged it yet.
pub trait KvStore: Send + Sync {
    /// The live value of `key`, or `None`.
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<KvRecord>, Error>>;

    /// Stores a value. Replacing a live key keeps its creation date. With `overwrite` false, a
    /// live key is [`Error::AlreadyExists`] (checked, then written: not atomic across writers).
    fn set<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        put: KvPut,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Removes a key, expired or not; returns whether one was stored. Idempotent.
    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str)
    -> BoxFuture<'a, Result<bool, Error>>;

    /// The live keys starting with `prefix` (all when `None`), sorted by key.
    fn list<'a>(
        &'a self,
        namespace: &'a str,
        prefix: Option<&'a str>,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<KvEntry>, Error>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_keys_like_kestra() {
        for good in ["a", "A1", "my.key_name-2", "0"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in ["", ".a", "_a", "a/b", "a b", "é", "a..b/"] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_typed_text() {
        let parse = |kv_type, text| KvValue::parse(kv_type, text).expect(text);
        assert_eq!(parse(KvType::Number, "42").to_json(), serde_json::json!(42));
        assert_eq!(parse(KvType::Boolean, "TRUE"), KvValue::Boolean(true));
        assert_eq!(parse(KvType::Boolean, "yes"), KvValue::Boolean(false));
        assert_eq!(
            parse(KvType::Datetime, "2024-05-01T10:00:00Z").to_json(),
            serde_json::json!("2024-05-01T10:00:00Z")
        );
        assert_eq!(
            parse(KvType::Date, "2024-05-01T10:00:00Z").to_json(),
            serde_json::json!("2024-05-01")
        );
        assert_eq!(
            parse(KvType::Duration, "PT5M").to_json(),
            serde_json::json!("PT5M")
        );
        assert_eq!(
            parse(KvType::Json, r#"{"a":[1]}"#).to_json(),
            serde_json::json!({"a": [1]})
        );
        assert!(KvValue::parse(KvType::Number, "x").is_err());
        assert!(KvValue::parse(KvType::Duration, "5 minutes").is_err());
    }
}
