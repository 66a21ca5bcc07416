//! Flow inputs: the common properties, one spec per input type, and the typed [`Input`].

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::registry::{Kind, Registry};

/// Every input type Kestra knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum InputType {
    #[serde(rename = "STRING")]
    String,
    #[serde(rename = "INT")]
    Int,
    #[serde(rename = "FLOAT")]
    Float,
    #[serde(rename = "BOOLEAN")]
    Boolean,
    #[serde(rename = "BOOL")]
    Bool,
    #[serde(rename = "DATETIME")]
    DateTime,
    #[serde(rename = "DATE")]
    Date,
    #[serde(rename = "TIME")]
    Time,
    #[serde(rename = "DURATION")]
    Duration,
    #[serde(rename = "FILE")]
    File,
    #[serde(rename = "JSON")]
    Json,
    #[serde(rename = "YAML")]
    Yaml,
    #[serde(rename = "URI")]
    Uri,
    #[serde(rename = "SECRET")]
    Secret,
    #[serde(rename = "SELECT")]
    Select,
    #[serde(rename = "MULTISELECT")]
    MultiSelect,
    #[serde(rename = "ENUM")]
    Enum,
    #[serde(rename = "ARRAY")]
    Array,
    #[serde(rename = "EMAIL")]
    Email,
}

impl InputType {
    pub const ALL: [InputType; 19] = [
        InputType::String,
        InputType::Int,
        InputType::Float,
        InputType::Boolean,
        InputType::Bool,
        InputType::DateTime,
        InputType::Date,
        InputType::Time,
        InputType::Duration,
        InputType::File,
        InputType::Json,
        InputType::Yaml,
        InputType::Uri,
        InputType::Secret,
        InputType::Select,
        InputType::MultiSelect,
        InputType::Enum,
        InputType::Array,
        InputType::Email,
    ];

    pub fn name(self) -> &'static str {
        match self {
            InputType::String => "STRING",
            InputType::Int => "INT",
            InputType::Float => "FLOAT",
            InputType::Boolean => "BOOLEAN",
            InputType::Bool => "BOOL",
            InputType::DateTime => "DATETIME",
            InputType::Date => "DATE",
            InputType::Time => "TIME",
            InputType::Duration => "DURATION",
            InputType::File => "FILE",
            InputType::Json => "JSON",
            InputType::Yaml => "YAML",
            InputType::Uri => "URI",
            InputType::Secret => "SECRET",
            InputType::Select => "SELECT",
            InputType::MultiSelect => "MULTISELECT",
            InputType::Enum => "ENUM",
            InputType::Array => "ARRAY",
            InputType::Email => "EMAIL",
        }
    }

    pub fn from_name(name: &str) -> Option<InputType> {
        InputType::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Makes an input depend on others: shown (and required) only once they are set and the
/// condition holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependsOn {
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// Properties common to all inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InputCommon {
    /// The input name, used as `inputs.<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Deprecated spelling of `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether a value (or a default) must be given; true unless said otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The value used when none is given; may be an expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Value>,
    /// A value shown pre-filled in the UI, that the user may clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<DependsOn>,
}

/// A flow input as read from a flow: common properties, the type, and the type's own options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    #[serde(flatten)]
    pub common: InputCommon,
    #[serde(rename = "type")]
    pub input_type: InputType,
    /// Type-specific options (`validator`, `values`, `min`, `itemType`, ...).
    #[serde(flatten)]
    pub options: Map<String, Value>,
}

impl Input {
    /// The input's name (`id`, or the deprecated `name`).
    pub fn id(&self) -> &str {
        self.common
            .id
            .as_deref()
            .or(self.common.name.as_deref())
            .unwrap_or_default()
    }

    /// Whether the input must be given; Kestra's default is true.
    pub fn is_required(&self) -> bool {
        self.common.required.unwrap_or(true)
    }
}

impl JsonSchema for Input {
    fn schema_name() -> Cow<'static, str> {
        Kind::Input.def_name().into()
    }

    fn inline_schema() -> bool {
        false
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "required": ["type"] })
    }
}

/// Registers the common input properties and one spec per input type.
pub(crate) fn register(registry: &mut Registry) {
    registry.set_common::<InputCommon>(Kind::Input);
    super::input_types::register(registry);
}
