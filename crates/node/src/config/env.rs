//! Configuration keys set by environment variables, named as Micronaut names them for Kestra:
//! the key in capitals with `.` and `-` as `_` (`kestra.storage.local.base-path` is
//! `KESTRA_STORAGE_LOCAL_BASE_PATH`, `datasources.postgres.url` is `DATASOURCES_POSTGRES_URL`).
//! A variable wins over the file.

use serde_json::{Map, Value};

/// A key a variable sets.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Override {
    /// The dotted key (`micronaut.server.port`).
    pub key: String,
    pub variable: String,
    pub value: Value,
}

/// The variable naming a dotted key.
pub(super) fn variable_of(key: &str) -> String {
    key.replace(['.', '-'], "_").to_ascii_uppercase()
}

/// The keys `variables` set among the leaves of `defaults` (every key the configuration
/// knows), each value typed like the default it replaces.
pub(super) fn overrides(
    defaults: &Value,
    variables: impl IntoIterator<Item = (String, String)>,
) -> Vec<Override> {
    let mut leaves = Vec::new();
    collect_leaves(defaults, String::new(), &mut leaves);
    let variables: std::collections::HashMap<String, String> = variables.into_iter().collect();
    let mut found = Vec::new();
    for (key, default) in leaves {
        let variable = variable_of(&key);
        if let Some(text) = variables.get(&variable) {
            found.push(Override {
                key,
                variable,
                value: typed(text, default),
            });
        }
    }
    found
}

/// Writes each override into the document, creating the sections it needs.
pub(super) fn apply(document: &mut Value, overrides: &[Override]) {
    for found in overrides {
        let mut node = &mut *document;
        let segments: Vec<&str> = found.key.split('.').collect();
        for (index, segment) in segments.iter().enumerate() {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else {
                break;
            };
            if index + 1 == segments.len() {
                map.insert((*segment).to_string(), found.value.clone());
                break;
            }
            node = map
                .entry((*segment).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
}

fn collect_leaves<'a>(value: &'a Value, prefix: String, leaves: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                collect_leaves(child, path, leaves);
            }
        }
        leaf => leaves.push((prefix, leaf)),
    }
}

/// The text as a number or a boolean where the default is one (so the key's own check
/// reports a bad value), as text otherwise.
fn typed(text: &str, default: &Value) -> Value {
    let parsed = match default {
        Value::Number(_) => text
            .parse::<u64>()
            .map(Value::from)
            .or_else(|_| text.parse::<f64>().map(Value::from))
            .ok(),
        Value::Bool(_) => text.parse::<bool>().map(Value::Bool).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn known_keys_are_found_and_typed_like_their_default() {
        let defaults = json!({
            "kestra": {"storage": {"local": {"base-path": "data"}}},
            "micronaut": {"server": {"port": 8080}},
            "datasources": {"postgres": {"password": null}},
        });
        let found = overrides(
            &defaults,
            vars(&[
                ("KESTRA_STORAGE_LOCAL_BASE_PATH", "/srv"),
                ("MICRONAUT_SERVER_PORT", "9000"),
                ("DATASOURCES_POSTGRES_PASSWORD", "12: #x"),
                ("KESTRA_UNKNOWN", "x"),
            ]),
        );
        let pairs: Vec<(String, Value)> = found
            .into_iter()
            .map(|found| (found.key, found.value))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("kestra.storage.local.base-path".to_string(), json!("/srv")),
                ("micronaut.server.port".to_string(), json!(9000)),
                ("datasources.postgres.password".to_string(), json!("12: #x")),
            ]
        );
    }

    #[test]
    fn overrides_replace_or_create_their_sections() {
        let mut document = json!({"micronaut": {"server": {"port": 1}}, "kestra": "odd"});
        let set = |key: &str, value: Value| Override {
            key: key.into(),
            variable: variable_of(key),
            value,
        };
        apply(
            &mut document,
            &[
                set("micronaut.server.port", json!(2)),
                set("kestra.repository.type", json!("postgres")),
            ],
        );
        assert_eq!(
            document,
            json!({"micronaut": {"server": {"port": 2}}, "kestra": {"repository": {"type": "postgres"}}})
        );
    }
}
