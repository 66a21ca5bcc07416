//! `kestra.server`: how processes watch each other (`liveness`) and how long a stopping server
//! lets its tasks finish (`termination-grace-period`), with Kestra's keys. Durations are written
//! as jiff reads them: `10s`, `500ms`, `5m`, `PT45S`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A duration in the configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let span: jiff::Span = text.trim().parse().map_err(|error| {
            format!("'{text}' is not a duration (10s, 500ms, 5m, PT45S): {error}")
        })?;
        let signed = jiff::SignedDuration::try_from(span)
            .map_err(|error| format!("'{text}' is not a fixed duration: {error}"))?;
        let duration =
            Duration::try_from(signed).map_err(|_| format!("'{text}' must not be negative"))?;
        Ok(Self(duration))
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let signed = jiff::SignedDuration::try_from(self.0).unwrap_or_default();
        serializer.serialize_str(&format!("{signed:#}"))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ConfigDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct ServerSection {
    pub liveness: Liveness,
    /// How long a stopping worker lets its running tasks finish before handing them back.
    pub termination_grace_period: ConfigDuration,
    /// Other keys of Kestra's (`basic-auth`, ...), reported as unused.
    #[serde(flatten)]
    pub ignored: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            liveness: Liveness::default(),
            termination_grace_period: ConfigDuration(Duration::from_secs(5 * 60)),
            ignored: Default::default(),
        }
    }
}

/// Worker liveness: a worker renews the claims on its task runs every `heartbeat-interval`; one
/// silent for `timeout` is taken for dead and its task runs go to other workers (it stops
/// itself when it cannot renew for that long).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Liveness {
    pub timeout: ConfigDuration,
    pub heartbeat_interval: ConfigDuration,
    /// Kestra's keys for its coordinator's checks; claims expire on their own here.
    #[serde(skip_serializing)]
    pub interval: Option<ConfigDuration>,
    #[serde(skip_serializing)]
    pub initial_delay: Option<ConfigDuration>,
    #[serde(skip_serializing)]
    pub enabled: Option<bool>,
}

impl Default for Liveness {
    fn default() -> Self {
        Self {
            timeout: ConfigDuration(Duration::from_secs(10)),
            heartbeat_interval: ConfigDuration(Duration::from_secs(2)),
            interval: None,
            initial_delay: None,
            enabled: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_jiff_writes_them() {
        assert_eq!(
            ConfigDuration::parse("10s"),
            Ok(ConfigDuration(Duration::from_secs(10)))
        );
        assert_eq!(
            ConfigDuration::parse("PT45S"),
            Ok(ConfigDuration(Duration::from_secs(45)))
        );
        assert_eq!(
            ConfigDuration::parse("500ms"),
            Ok(ConfigDuration(Duration::from_millis(500)))
        );
        assert!(ConfigDuration::parse("soon").is_err());
        assert!(ConfigDuration::parse("-5s").is_err());
    }
}
