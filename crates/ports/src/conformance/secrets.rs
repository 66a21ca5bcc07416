//! The contracts of [`Secrets`].

use crate::secrets::Secrets;

/// The secrets a backend under test must hold: (key, value).
pub const FIXTURE: &[(&str, &str)] = &[
    ("API_TOKEN", "s3cr3t"),
    ("MULTI_LINE", "line 1\nline 2"),
    ("UNICODE", "clé ✓"),
];

pub async fn known_secrets_are_returned(secrets: &dyn Secrets) {
    for (key, value) in FIXTURE {
        assert_eq!(
            secrets.get("company.team", key).await,
            Ok(Some(value.to_string())),
            "{key}"
        );
    }
}

pub async fn keys_are_case_insensitive(secrets: &dyn Secrets) {
    assert_eq!(
        secrets.get("company.team", "api_token").await,
        Ok(Some("s3cr3t".to_string()))
    );
}

pub async fn unknown_secret_is_none(secrets: &dyn Secrets) {
    assert_eq!(secrets.get("company.team", "NOPE").await, Ok(None));
}
