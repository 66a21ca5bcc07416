//! Polymorphic objects (tasks, triggers, conditions, task runners): typed common properties plus
//! the type's own properties, kept as JSON until a component reads them into its spec.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::registry::Kind;

/// The common part of one kind of polymorphic object.
pub trait CommonProperties: Serialize + DeserializeOwned + JsonSchema {
    const KIND: Kind;
    /// The property names of the common part (they are not repeated in `properties`).
    fn names() -> &'static [&'static str];
}

/// A task, trigger, condition or task runner as read from a flow.
#[derive(Clone, Debug, PartialEq)]
pub struct Plugin<C> {
    pub common: C,
    /// The type's own properties, as JSON (scalars already coerced by validation).
    pub properties: Map<String, Value>,
}

impl<C: CommonProperties> Plugin<C> {
    /// Reads the type's own properties into its typed spec.
    pub fn spec<S: DeserializeOwned>(&self) -> Result<S, serde_json::Error> {
        serde_json::from_value(Value::Object(self.properties.clone()))
    }
}

impl<C: CommonProperties> Serialize for Plugin<C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object =
            match serde_json::to_value(&self.common).map_err(serde::ser::Error::custom)? {
                Value::Object(object) => object,
                _ => Map::new(),
            };
        for (key, value) in &self.properties {
            object.insert(key.clone(), value.clone());
        }
        object.serialize(serializer)
    }
}

impl<'de, C: CommonProperties> Deserialize<'de> for Plugin<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let common = C::deserialize(&value).map_err(serde::de::Error::custom)?;
        let Value::Object(mut object) = value else {
            return Err(serde::de::Error::custom("expected a mapping"));
        };
        for name in C::names() {
            object.remove(*name);
        }
        Ok(Plugin {
            common,
            properties: object,
        })
    }
}

impl<C: CommonProperties> JsonSchema for Plugin<C> {
    fn schema_name() -> Cow<'static, str> {
        C::KIND.def_name().into()
    }

    fn inline_schema() -> bool {
        false
    }

    /// A placeholder: the validator dispatches on `type` through the catalogue, and the editor
    /// schema replaces this definition with one branch per registered type.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "required": ["type"] })
    }
}
