//! Secrets: named values a flow reads with `{{ secret('NAME') }}`, never written by flows.

use std::collections::HashMap;
use std::ffi::OsString;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::future::BoxFuture;

/// Why a secret could not be read (a missing secret is not an error: it is `None`).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("secret backend failed: {0}")]
    Backend(String),
}

/// Where secrets come from.
pub trait Secrets: Send + Sync {
    /// The secret `key` as seen from `namespace`, or `None`. Keys are case-insensitive.
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, Error>>;
}

/// The prefix of environment variables holding secrets.
pub const ENV_PREFIX: &str = "SECRET_";

/// Kestra OSS secrets: environment variables `SECRET_<KEY>` whose values are base64, decoded once
/// when built. The same secrets are visible from every namespace.
#[derive(Clone, Default)]
pub struct EnvSecrets {
    values: HashMap<String, String>,
    rejected: Vec<String>,
}

impl std::fmt::Debug for EnvSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvSecrets")
            .field("count", &self.values.len())
            .field("rejected", &self.rejected)
            .finish()
    }
}

impl EnvSecrets {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let value = value
                .into_string()
                .unwrap_or_else(|raw: OsString| raw.to_string_lossy().into_owned());
            Some((name, value))
        }))
    }

    /// Reads `(name, value)` pairs as if they were the environment.
    pub fn from_vars<N, V>(vars: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        // Java's basic decoder: standard alphabet, padding optional.
        let engine = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        let mut secrets = Self::default();
        for (name, value) in vars {
            let Some(key) = name.as_ref().strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let encoded: String = value
                .as_ref()
                .chars()
                .filter(|c| {
                    !matches!(
                        c,
                        '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
                    )
                })
                .collect();
            match engine.decode(encoded.as_bytes()) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    secrets.values.insert(key.to_uppercase(), text);
                }
                Err(_) => secrets.rejected.push(name.as_ref().to_string()),
            }
        }
        secrets.rejected.sort();
        secrets
    }

    /// The variables skipped because their value is not base64 (to be logged by the caller).
    pub fn rejected(&self) -> &[String] {
        &self.rejected
    }
}

impl Secrets for EnvSecrets {
    fn get<'a>(
        &'a self,
        _namespace: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move { Ok(self.values.get(&key.to_uppercase()).cloned()) })
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn fixture() -> EnvSecrets {
        EnvSecrets::from_vars(
            crate::conformance::secrets::FIXTURE
                .iter()
                .map(|(key, value)| (format!("{ENV_PREFIX}{key}"), STANDARD.encode(value))),
        )
    }

    crate::secrets_conformance_tests!(Box::new(fixture()));

    #[tokio::test]
    async fn decodes_like_kestra() {
        let secrets = EnvSecrets::from_vars([
            ("SECRET_WRAPPED", "c2Vj\ncmV0"),
            ("SECRET_UNPADDED", "YQ"),
            ("SECRET_BROKEN", "not base64!"),
            ("PATH", "/usr/bin"),
        ]);
        assert_eq!(
            secrets.get("ns", "wrapped").await,
            Ok(Some("secret".into()))
        );
        assert_eq!(secrets.get("ns", "UNPADDED").await, Ok(Some("a".into())));
        assert_eq!(secrets.get("ns", "BROKEN").await, Ok(None));
        assert_eq!(secrets.get("ns", "PATH").await, Ok(None));
        assert_eq!(secrets.rejected(), ["SECRET_BROKEN"]);
    }
}
