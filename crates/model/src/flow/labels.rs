//! Labels, written either as a mapping or as a list of `{key, value}`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    pub value: String,
}

/// Labels in the order written. Kestra accepts a mapping or a list; both read into this.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Labels(pub Vec<Label>);

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = |value: Value| match value {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(Labels::default()),
            Value::Object(map) => Ok(Labels(
                map.into_iter()
                    .map(|(key, value)| Label {
                        key,
                        value: text(value),
                    })
                    .collect(),
            )),
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(mut object) => Ok(Label {
                        key: object.remove("key").map(text).unwrap_or_default(),
                        value: object.remove("value").map(text).unwrap_or_default(),
                    }),
                    _ => Err(serde::de::Error::custom(
                        "a label must be a {key, value} mapping",
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Labels),
            _ => Err(serde::de::Error::custom(
                "labels must be a mapping or a list of {key, value}",
            )),
        }
    }
}

impl JsonSchema for Labels {
    fn schema_name() -> Cow<'static, str> {
        "Labels".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
                },
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "key": { "type": "string" },
                            "value": { "type": ["string", "number", "boolean", "null"] }
                        },
                        "required": ["key", "value"],
                        "additionalProperties": false
                    }
                }
            ]
        })
    }
}
