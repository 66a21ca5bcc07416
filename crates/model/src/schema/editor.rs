//! The JSON Schema of a flow for editors: one definition per registered type, and task, trigger,
//! condition, input and retry objects that branch on `type`.

use serde_json::{Map, Value, json};

use crate::property::DYNAMIC_KEYWORD;
use crate::registry::{Kind, Registry};

/// Builds the flow JSON Schema (draft 2020-12) from the catalogue.
pub fn flow_schema(registry: &Registry) -> Value {
    let mut definitions = Map::new();
    for (name, definition) in registry.definitions() {
        if Kind::from_def_name(name).is_none() {
            definitions.insert(name.clone(), expand_dynamic(definition));
        }
    }
    for kind in Kind::ALL {
        let mut branches = Vec::new();
        let mut names = Vec::new();
        for entry in registry.types(kind) {
            let mut properties = Map::new();
            let mut required: Vec<Value> = Vec::new();
            let common = registry.common(kind).cloned().unwrap_or(Value::Bool(true));
            for part in [&entry.schema, &common] {
                if let Some(part_properties) = part.get("properties").and_then(Value::as_object) {
                    for (key, value) in part_properties {
                        properties
                            .entry(key.clone())
                            .or_insert_with(|| expand_dynamic(value));
                    }
                }
                if let Some(part_required) = part.get("required").and_then(Value::as_array) {
                    required.extend(part_required.iter().cloned());
                }
            }
            let type_names: Vec<&str> = std::iter::once(entry.name)
                .chain(entry.aliases.iter().copied())
                .collect();
            properties.insert("type".to_string(), json!({ "enum": type_names }));
            if !required.iter().any(|name| name == "type") {
                required.push(json!("type"));
            }
            let mut definition = json!({
                "type": "object",
                "title": entry.name,
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            });
            if let Some(description) = entry.schema.get("description") {
                definition["description"] = description.clone();
            }
            let definition_name = format!("{}:{}", kind.def_name(), entry.name);
            definitions.insert(definition_name.clone(), definition);
            branches.push(json!({
                "if": { "properties": { "type": { "enum": type_names } }, "required": ["type"] },
                "then": { "$ref": format!("#/$defs/{definition_name}") }
            }));
            names.extend(type_names.into_iter().map(Value::from));
        }
        definitions.insert(
            kind.def_name().to_string(),
            json!({
                "type": "object",
                "properties": { "type": { "enum": names } },
                "required": ["type"],
                "allOf": branches,
            }),
        );
    }
    let mut schema = match expand_dynamic(registry.flow_schema()) {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    schema.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    schema.insert("title".into(), json!("Kestra flow"));
    schema.insert("$defs".into(), Value::Object(definitions));
    Value::Object(schema)
}

/// Editors know nothing of `x-dynamic`: spell it as "the type, or a string holding an expression".
fn expand_dynamic(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut copy: Map<String, Value> = object
                .iter()
                .map(|(key, value)| (key.clone(), expand_dynamic(value)))
                .collect();
            if copy.remove(DYNAMIC_KEYWORD) == Some(Value::Bool(true))
                && copy.get("type") != Some(&json!("string"))
            {
                return json!({
                    "anyOf": [Value::Object(copy), { "type": "string", "pattern": "\\{\\{|\\{%" }]
                });
            }
            Value::Object(copy)
        }
        Value::Array(items) => Value::Array(items.iter().map(expand_dynamic).collect()),
        other => other.clone(),
    }
}
