//! Typed properties: a literal of the declared type, or an expression rendered to it at run time.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The JSON Schema keyword that marks a property as accepting `{{ }}` expressions.
pub const DYNAMIC_KEYWORD: &str = "x-dynamic";

/// A property value as written in a flow.
#[derive(Clone, Debug, PartialEq)]
pub enum Property<T> {
    /// A literal of the declared type.
    Value(T),
    /// A template (`{{ }}`/`{% %}`) to render, then convert to the declared type.
    Expression(String),
}

/// True when a string holds a template tag and so must be rendered.
pub fn is_expression(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

impl<T> Property<T> {
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Property::Value(value) => Some(value),
            Property::Expression(_) => None,
        }
    }
}

impl<T: Serialize> Serialize for Property<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Property::Value(value) => value.serialize(serializer),
            Property::Expression(template) => serializer.serialize_str(template),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Property<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if let serde_json::Value::String(text) = &value
            && is_expression(text)
        {
            return Ok(Property::Expression(text.clone()));
        }
        serde_json::from_value(value)
            .map(Property::Value)
            .map_err(serde::de::Error::custom)
    }
}

impl<T: JsonSchema> JsonSchema for Property<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Property_{}", T::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = generator.subschema_for::<T>();
        schema.insert(DYNAMIC_KEYWORD.to_string(), true.into());
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_literals_and_expressions() {
        let literal: Property<i64> = serde_json::from_value(serde_json::json!(3)).expect("int");
        assert_eq!(literal, Property::Value(3));
        let template: Property<i64> =
            serde_json::from_value(serde_json::json!("{{ inputs.n }}")).expect("expression");
        assert_eq!(template, Property::Expression("{{ inputs.n }}".into()));
        assert!(serde_json::from_value::<Property<i64>>(serde_json::json!("x")).is_err());
    }
}
