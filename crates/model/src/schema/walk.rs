//! Checks a YAML tree against the catalogue's JSON Schemas and returns the JSON the typed model
//! is read from. Every problem is reported with its position; checking goes on after a problem.
//!
//! It understands the subset of JSON Schema that `schemars` writes for our types (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`/`oneOf`,
//! `allOf`, `$ref`, `minItems`, `minimum`, `maximum`, `format: duration`) plus two things of our own:
//! a `$ref` to a kind definition (`#/$defs/Task`, ...) dispatches on the object's `type` through
//! the catalogue, and `x-dynamic` lets a string expression stand for a value of any type.
//! Scalars are coerced the way Kestra's Jackson reader does (`"2"` for an integer, `3` for a string).

use serde_json::{Map, Value};

use crate::check::{CheckContext, FlowIdentity, edit_distance};
use crate::diagnostic::{Code, Diagnostics};
use crate::duration::Duration;
use crate::path::YamlPath;
use crate::property::{DYNAMIC_KEYWORD, is_expression};
use crate::registry::{Kind, PluginType, Registry, Role};
use crate::yaml::{Node, NodeValue, Pos};

/// A typed object found in the flow: a task, trigger, input, ...
#[derive(Clone, Debug)]
pub struct Site {
    pub kind: Kind,
    pub type_name: &'static str,
    pub role: Role,
    pub id: Option<(String, Pos)>,
    pub path: YamlPath,
    pub pos: Pos,
}

/// Checks templates found in string values; supplied by the expression layer.
pub trait ExpressionSyntax {
    /// `Err` holds a message saying what is wrong with the template.
    fn check(&self, template: &str) -> Result<(), String>;
}

pub struct Walker<'a> {
    registry: &'a Registry,
    flow: &'a FlowIdentity,
    expressions: Option<&'a dyn ExpressionSyntax>,
    pub diagnostics: Diagnostics,
    pub sites: Vec<Site>,
}

/// JSON kinds a schema accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonKind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonKind {
    fn of(node: &Node) -> JsonKind {
        match &node.value {
            NodeValue::Null => JsonKind::Null,
            NodeValue::Bool(_) => JsonKind::Boolean,
            NodeValue::Int(_) => JsonKind::Integer,
            NodeValue::Float(_) => JsonKind::Number,
            NodeValue::Str { .. } => JsonKind::String,
            NodeValue::Seq(_) => JsonKind::Array,
            NodeValue::Map(_) => JsonKind::Object,
        }
    }

    fn parse(name: &str) -> Option<JsonKind> {
        Some(match name {
            "null" => JsonKind::Null,
            "boolean" => JsonKind::Boolean,
            "integer" => JsonKind::Integer,
            "number" => JsonKind::Number,
            "string" => JsonKind::String,
            "array" => JsonKind::Array,
            "object" => JsonKind::Object,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Boolean => "a boolean",
            JsonKind::Integer => "an integer",
            JsonKind::Number => "a number",
            JsonKind::String => "a string",
            JsonKind::Array => "a list",
            JsonKind::Object => "a mapping",
        }
    }
}

impl<'a> Walker<'a> {
    pub fn new(
        registry: &'a Registry,
        flow: &'a FlowIdentity,
        expressions: Option<&'a dyn ExpressionSyntax>,
    ) -> Self {
        Self {
            registry,
            flow,
            expressions,
            diagnostics: Diagnostics::default(),
            sites: Vec::new(),
        }
    }

    /// Checks `node` against `schema`, returning the value with scalars coerced.
    pub fn walk(&mut self, node: &Node, schema: &Value, path: &YamlPath) -> Value {
        let Some(object) = schema.as_object() else {
            // `true` accepts anything, `false` nothing.
            if schema == &Value::Bool(false) {
                self.report(
                    Code::InvalidValue,
                    node.span.start,
                    path,
                    "no value is allowed here",
                );
            }
            return self.any(node, path);
        };
        if object.get(DYNAMIC_KEYWORD) == Some(&Value::Bool(true))
            && let NodeValue::Str { text, .. } = &node.value
            && is_expression(text)
        {
            self.check_expression(text, node.span.start, path);
            return Value::String(text.clone());
        }
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            return self.walk_reference(node, reference, path);
        }
        if let Some(branches) = object
            .get("anyOf")
            .or_else(|| object.get("oneOf"))
            .and_then(Value::as_array)
        {
            return self.walk_branches(node, branches, path);
        }
        if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            let merged = merge_all_of(self.registry, parts);
            return self.walk(node, &merged, path);
        }
        let kinds = accepted_kinds(self.registry, schema);
        if kinds.is_empty() {
            return self.check_enum(node, object, path, |walker| walker.any(node, path));
        }
        self.walk_typed(node, object, &kinds, path)
    }

    fn walk_reference(&mut self, node: &Node, reference: &str, path: &YamlPath) -> Value {
        let name = reference.strip_prefix("#/$defs/").unwrap_or(reference);
        if let Some(kind) = Kind::from_def_name(name) {
            return self.walk_plugin(node, kind, path);
        }
        let registry = self.registry;
        match registry.resolve(reference) {
            Some(definition) => self.walk(node, definition, path),
            None => self.any(node, path),
        }
    }

    fn walk_branches(&mut self, node: &Node, branches: &[Value], path: &YamlPath) -> Value {
        if let Some(values) = enumerated_values(branches) {
            // A documented enum: one `const` branch per value.
            let mut schema = Map::new();
            schema.insert("enum".to_string(), Value::Array(values));
            return self.walk(node, &Value::Object(schema), path);
        }
        let kind = JsonKind::of(node);
        // Prefer a branch that takes the value as it is, then one that can coerce it.
        let exact = branches
            .iter()
            .find(|branch| accepted_kinds(self.registry, branch).contains(&kind));
        let chosen = exact.or_else(|| {
            branches.iter().find(|branch| {
                accepted_kinds(self.registry, branch)
                    .iter()
                    .any(|accepted| coercible(node, *accepted))
            })
        });
        if let Some(branch) = chosen {
            return self.walk(node, branch, path);
        }
        if kind == JsonKind::Null {
            return Value::Null;
        }
        let mut expected: Vec<&str> = branches
            .iter()
            .flat_map(|branch| accepted_kinds(self.registry, branch))
            .filter(|accepted| *accepted != JsonKind::Null)
            .map(JsonKind::describe)
            .collect();
        expected.dedup();
        let message = format!(
            "expected {}, found {}",
            expected.join(" or "),
            describe_node(node)
        );
        self.report(Code::WrongType, node.span.start, path, message);
        node.to_json()
    }

    fn walk_typed(
        &mut self,
        node: &Node,
        schema: &Map<String, Value>,
        kinds: &[JsonKind],
        path: &YamlPath,
    ) -> Value {
        let actual = JsonKind::of(node);
        let accepts = |kind: JsonKind| kinds.contains(&kind);
        let value = match (&node.value, actual) {
            (_, JsonKind::Null) if accepts(JsonKind::Null) => return Value::Null,
            (NodeValue::Seq(items), _) if accepts(JsonKind::Array) => {
                return self.walk_array(node, items, schema, path);
            }
            (NodeValue::Map(_), _) if accepts(JsonKind::Object) => {
                return self.walk_object(node, &[schema], None, path);
            }
            (NodeValue::Bool(flag), _) if accepts(JsonKind::Boolean) => Value::Bool(*flag),
            (NodeValue::Int(number), _)
                if accepts(JsonKind::Integer) || accepts(JsonKind::Number) =>
            {
                Value::from(*number)
            }
            (NodeValue::Float(number), _) if accepts(JsonKind::Number) => {
                serde_json::Number::from_f64(*number).map_or(Value::Null, Value::Number)
            }
            (NodeValue::Float(number), _)
                if accepts(JsonKind::Integer) && number.fract() == 0.0 && number.abs() < 9.0e15 =>
            {
                #[allow(clippy::cast_possible_truncation)]
                Value::from(*number as i64)
            }
            (NodeValue::Str { text, .. }, _) if accepts(JsonKind::String) => {
                Value::String(text.clone())
            }
            _ => match coerce(node, kinds) {
                Some(value) => value,
                None => {
                    let expected: Vec<&str> = kinds
                        .iter()
                        .filter(|kind| **kind != JsonKind::Null)
                        .map(|kind| kind.describe())
                        .collect();
                    let message = if actual == JsonKind::Null {
                        "must not be null".to_string()
                    } else {
                        format!(
                            "expected {}, found {}",
                            expected.join(" or "),
                            describe_node(node)
                        )
                    };
                    self.report(Code::WrongType, node.span.start, path, message);
                    return node.to_json();
                }
            },
        };
        self.check_scalar(node, schema, &value, path);
        self.check_enum(node, schema, path, |_| value)
    }

    fn check_scalar(
        &mut self,
        node: &Node,
        schema: &Map<String, Value>,
        value: &Value,
        path: &YamlPath,
    ) {
        if let Value::String(text) = value {
            if is_expression(text) {
                self.check_expression(text, node.span.start, path);
            }
            if schema.get("format").and_then(Value::as_str) == Some("duration")
                && !is_expression(text)
                && let Err(error) = text.parse::<Duration>()
            {
                self.report(Code::InvalidValue, node.span.start, path, error.to_string());
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && (text.chars().count() as u64) < min
            {
                self.report(
                    Code::InvalidValue,
                    node.span.start,
                    path,
                    "must not be empty",
                );
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                && regex::Regex::new(pattern).is_ok_and(|regex| !regex.is_match(text))
            {
                let message = format!("'{text}' must match the pattern {pattern}");
                self.report(Code::InvalidValue, node.span.start, path, message);
            }
        }
        if let Some(number) = value.as_f64() {
            if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
                && number < minimum
            {
                let message = format!("must be greater than or equal to {minimum}");
                self.report(Code::InvalidValue, node.span.start, path, message);
            }
            if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
                && number > maximum
            {
                let message = format!("must be less than or equal to {maximum}");
                self.report(Code::InvalidValue, node.span.start, path, message);
            }
        }
    }

    fn check_enum(
        &mut self,
        node: &Node,
        schema: &Map<String, Value>,
        path: &YamlPath,
        value: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        let value = value(self);
        let allowed: Option<Vec<&Value>> = match (schema.get("enum"), schema.get("const")) {
            (Some(Value::Array(values)), _) => Some(values.iter().collect()),
            (_, Some(constant)) => Some(vec![constant]),
            _ => None,
        };
        if let Some(allowed) = allowed {
            let expression = value.as_str().is_some_and(is_expression)
                && schema.get(DYNAMIC_KEYWORD) == Some(&Value::Bool(true));
            if !allowed.contains(&&value) && !expression {
                let names: Vec<String> =
                    allowed.iter().map(|value| display_scalar(value)).collect();
                let message = format!(
                    "invalid value {}: must be one of {}",
                    display_scalar(&value),
                    names.join(", ")
                );
                self.report(Code::InvalidValue, node.span.start, path, message);
            }
        }
        value
    }

    fn walk_array(
        &mut self,
        node: &Node,
        items: &[Node],
        schema: &Map<String, Value>,
        path: &YamlPath,
    ) -> Value {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            self.report(Code::EmptyList, node.span.start, path, "must not be empty");
        }
        let item_schema = schema.get("items").cloned().unwrap_or(Value::Bool(true));
        let values = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let item_path = path.index(index);
                if item.is_null()
                    && !accepted_kinds(self.registry, &item_schema).contains(&JsonKind::Null)
                {
                    self.report(
                        Code::WrongType,
                        item.span.start,
                        &item_path,
                        "must not be null",
                    );
                    return Value::Null;
                }
                self.walk(item, &item_schema, &item_path)
            })
            .collect();
        Value::Array(values)
    }

    /// Checks a mapping against one or more object schemas whose properties are merged
    /// (a plugin's own schema plus the common properties of its kind).
    fn walk_object(
        &mut self,
        node: &Node,
        schemas: &[&Map<String, Value>],
        owner: Option<&str>,
        path: &YamlPath,
    ) -> Value {
        let entries = node.as_map().unwrap_or(&[]);
        let mut output = Map::new();
        let property = |name: &str| {
            schemas
                .iter()
                .find_map(|schema| schema.get("properties")?.as_object()?.get(name))
        };
        let additional = schemas
            .iter()
            .find_map(|schema| schema.get("additionalProperties"));
        let closed = owner.is_some() || additional == Some(&Value::Bool(false));
        for entry in entries {
            let entry_path = path.key(&entry.key);
            if owner.is_some() && entry.key == "type" {
                // The dispatch key: checked by the caller, replaced by the canonical name.
                output.insert(entry.key.clone(), entry.value.to_json());
                continue;
            }
            match property(&entry.key) {
                Some(schema) => {
                    if entry.value.is_null()
                        && !accepted_kinds(self.registry, schema).contains(&JsonKind::Null)
                    {
                        // An explicit null stands for an absent property, as in Kestra.
                        continue;
                    }
                    let value = self.walk(&entry.value, schema, &entry_path);
                    output.insert(entry.key.clone(), value);
                }
                None if closed => {
                    let message = self.unknown_property_message(&entry.key, schemas, owner);
                    self.report(
                        Code::UnknownProperty,
                        entry.key_span.start,
                        &entry_path,
                        message,
                    );
                }
                None => {
                    let value = match additional {
                        Some(schema) if schema.is_object() => {
                            self.walk(&entry.value, schema, &entry_path)
                        }
                        _ => self.any(&entry.value, &entry_path),
                    };
                    output.insert(entry.key.clone(), value);
                }
            }
        }
        for schema in schemas {
            let required = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for name in required.filter_map(Value::as_str) {
                if !output.contains_key(name) {
                    let empty_list = property(name)
                        .and_then(|schema| schema.get("minItems"))
                        .is_some();
                    let message = if empty_list {
                        format!("missing required property '{name}': must not be empty")
                    } else {
                        format!("missing required property '{name}'")
                    };
                    let code = if empty_list {
                        Code::EmptyList
                    } else {
                        Code::MissingProperty
                    };
                    self.report(code, node.span.start, &path.key(name), message);
                }
            }
        }
        Value::Object(output)
    }

    fn unknown_property_message(
        &self,
        key: &str,
        schemas: &[&Map<String, Value>],
        owner: Option<&str>,
    ) -> String {
        let known: Vec<&String> = schemas
            .iter()
            .filter_map(|schema| schema.get("properties")?.as_object())
            .flat_map(Map::keys)
            .collect();
        let owner = owner
            .map(|owner| format!(" of {owner}"))
            .unwrap_or_default();
        let close = known
            .iter()
            .filter(|name| {
                edit_distance(&name.to_ascii_lowercase(), &key.to_ascii_lowercase()) <= 2
            })
            .min_by_key(|name| edit_distance(name, key));
        match close {
            Some(name) => format!("unknown property '{key}'{owner}; did you mean '{name}'?"),
            None => {
                let own: Vec<&String> = schemas
                    .first()
                    .and_then(|schema| schema.get("properties")?.as_object())
                    .map(|properties| properties.keys().collect())
                    .unwrap_or_default();
                if own.is_empty() {
                    format!("unknown property '{key}'{owner}")
                } else {
                    let names: Vec<&str> = own.iter().map(|name| name.as_str()).collect();
                    format!(
                        "unknown property '{key}'{owner} (its properties: {})",
                        names.join(", ")
                    )
                }
            }
        }
    }

    /// Dispatches on `type` through the catalogue.
    fn walk_plugin(&mut self, node: &Node, kind: Kind, path: &YamlPath) -> Value {
        if node.as_map().is_none() {
            let message = format!(
                "a {} must be a mapping, found {}",
                kind.noun(),
                describe_node(node)
            );
            self.report(Code::WrongType, node.span.start, path, message);
            return node.to_json();
        }
        let Some(type_node) = node.get("type") else {
            let message = format!(
                "missing required property 'type' (the {} type)",
                kind.noun()
            );
            self.report(
                Code::MissingProperty,
                node.span.start,
                &path.key("type"),
                message,
            );
            return node.to_json();
        };
        let Some(type_name) = type_node.scalar_text() else {
            let message = format!(
                "expected a {} type name, found {}",
                kind.noun(),
                describe_node(type_node)
            );
            self.report(
                Code::WrongType,
                type_node.span.start,
                &path.key("type"),
                message,
            );
            return node.to_json();
        };
        let registry = self.registry;
        let Some(entry) = registry.lookup(kind, &type_name) else {
            let mut message = format!("unknown {} type '{type_name}'", kind.noun());
            if let Some(suggestion) = self.registry.suggest(kind, &type_name) {
                message.push_str(&format!("; did you mean '{suggestion}'?"));
            }
            self.report(
                Code::UnknownType,
                type_node.span.start,
                &path.key("type"),
                message,
            );
            self.record_site(node, kind, "", Role::None, path);
            return node.to_json();
        };
        self.walk_plugin_object(node, entry, path)
    }

    fn walk_plugin_object(&mut self, node: &Node, entry: &PluginType, path: &YamlPath) -> Value {
        let registry = self.registry;
        let empty = Map::new();
        let common = registry
            .common(entry.kind)
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let own = entry.schema.as_object().unwrap_or(&empty);
        let mut value = self.walk_object(node, &[own, common], Some(entry.name), path);
        if let Value::Object(object) = &mut value {
            object.insert("type".to_string(), Value::String(entry.name.to_string()));
        }
        self.record_site(node, entry.kind, entry.name, entry.role, path);
        let mut context = CheckContext {
            node,
            path,
            registry: self.registry,
            flow: self.flow,
            diagnostics: &mut self.diagnostics,
        };
        (entry.check)(&mut context);
        value
    }

    fn record_site(
        &mut self,
        node: &Node,
        kind: Kind,
        type_name: &'static str,
        role: Role,
        path: &YamlPath,
    ) {
        let id = ["id", "name"].iter().find_map(|key| {
            let value = node.get(key)?;
            Some((value.scalar_text()?, value.span.start))
        });
        self.sites.push(Site {
            kind,
            type_name,
            role,
            id,
            path: path.clone(),
            pos: node.span.start,
        });
    }

    /// Takes a value of any shape, still checking the templates inside it.
    fn any(&mut self, node: &Node, path: &YamlPath) -> Value {
        if self.expressions.is_some() {
            self.check_expressions_in(node, path);
        }
        node.to_json()
    }

    fn check_expressions_in(&mut self, node: &Node, path: &YamlPath) {
        match &node.value {
            NodeValue::Str { text, .. } if is_expression(text) => {
                self.check_expression(text, node.span.start, path);
            }
            NodeValue::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.check_expressions_in(item, &path.index(index));
                }
            }
            NodeValue::Map(entries) => {
                for entry in entries {
                    self.check_expressions_in(&entry.value, &path.key(&entry.key));
                }
            }
            _ => {}
        }
    }

    fn check_expression(&mut self, text: &str, pos: Pos, path: &YamlPath) {
        if let Some(checker) = self.expressions
            && let Err(message) = checker.check(text)
        {
            self.report(
                Code::InvalidExpression,
                pos,
                path,
                format!("invalid expression: {message}"),
            );
        }
    }

    fn report(&mut self, code: Code, pos: Pos, path: &YamlPath, message: impl Into<String>) {
        self.diagnostics.push(code, pos, path, message);
    }
}

/// The JSON kinds a schema accepts, following references and branches.
fn accepted_kinds(registry: &Registry, schema: &Value) -> Vec<JsonKind> {
    let all = vec![
        JsonKind::Null,
        JsonKind::Boolean,
        JsonKind::Integer,
        JsonKind::Number,
        JsonKind::String,
        JsonKind::Array,
        JsonKind::Object,
    ];
    let Some(object) = schema.as_object() else {
        return if schema == &Value::Bool(false) {
            Vec::new()
        } else {
            all
        };
    };
    let mut kinds = match object.get("type") {
        Some(Value::String(name)) => JsonKind::parse(name).into_iter().collect(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .filter_map(JsonKind::parse)
            .collect(),
        _ => Vec::new(),
    };
    if kinds.is_empty() {
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/$defs/").unwrap_or(reference);
            if Kind::from_def_name(name).is_some() {
                kinds.push(JsonKind::Object);
            } else if let Some(definition) = registry.resolve(reference) {
                kinds = accepted_kinds(registry, definition);
            }
        } else if let Some(branches) = object
            .get("anyOf")
            .or_else(|| object.get("oneOf"))
            .and_then(Value::as_array)
        {
            for branch in branches {
                kinds.extend(accepted_kinds(registry, branch));
            }
        } else if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
            kinds = accepted_kinds(registry, &merge_all_of(registry, parts));
        } else if let Some(constant) = object.get("const") {
            kinds.push(kind_of_value(constant));
        } else if let Some(Value::Array(values)) = object.get("enum") {
            kinds.extend(values.iter().map(kind_of_value));
        } else if object.contains_key("properties") {
            kinds.push(JsonKind::Object);
        } else if object.contains_key("items") {
            kinds.push(JsonKind::Array);
        } else {
            return all;
        }
    }
    kinds
}

/// The values of an enum written as one `const` (or `enum`) branch per value, if it is one.
fn enumerated_values(branches: &[Value]) -> Option<Vec<Value>> {
    let mut values = Vec::new();
    for branch in branches {
        let object = branch.as_object()?;
        match (object.get("const"), object.get("enum")) {
            (Some(constant), _) => values.push(constant.clone()),
            (None, Some(Value::Array(more))) => values.extend(more.iter().cloned()),
            _ => return None,
        }
    }
    Some(values)
}

fn kind_of_value(value: &Value) -> JsonKind {
    match value {
        Value::Null => JsonKind::Null,
        Value::Bool(_) => JsonKind::Boolean,
        Value::Number(number) if number.is_i64() || number.is_u64() => JsonKind::Integer,
        Value::Number(_) => JsonKind::Number,
        Value::String(_) => JsonKind::String,
        Value::Array(_) => JsonKind::Array,
        Value::Object(_) => JsonKind::Object,
    }
}

/// Merges the object schemas of an `allOf` into one.
fn merge_all_of(registry: &Registry, parts: &[Value]) -> Value {
    let mut merged = Map::new();
    for part in parts {
        let part = match part.get("$ref").and_then(Value::as_str) {
            Some(reference) => registry
                .resolve(reference)
                .cloned()
                .unwrap_or(Value::Bool(true)),
            None => part.clone(),
        };
        let Value::Object(object) = part else {
            continue;
        };
        for (key, value) in object {
            match (key.as_str(), merged.get_mut(&key), value) {
                ("properties", Some(Value::Object(existing)), Value::Object(more)) => {
                    existing.extend(more)
                }
                ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                    existing.extend(more)
                }
                (_, _, value) => {
                    merged.insert(key, value);
                }
            }
        }
    }
    Value::Object(merged)
}

/// Jackson-style scalar coercion: "2" to 2, "true" to true, 3 to "3".
fn coerce(node: &Node, kinds: &[JsonKind]) -> Option<Value> {
    for kind in kinds {
        let value = match (&node.value, kind) {
            (NodeValue::Str { text, .. }, JsonKind::Integer) => {
                text.trim().parse::<i64>().ok().map(Value::from)
            }
            (NodeValue::Str { text, .. }, JsonKind::Number) => text
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            (NodeValue::Str { text, .. }, JsonKind::Boolean) => {
                match text.to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                }
            }
            (NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_), JsonKind::String) => {
                node.scalar_text().map(Value::String)
            }
            _ => None,
        };
        if value.is_some() {
            return value;
        }
    }
    None
}

fn coercible(node: &Node, kind: JsonKind) -> bool {
    coerce(node, &[kind]).is_some()
}

fn describe_node(node: &Node) -> String {
    match &node.value {
        NodeValue::Str { text, .. } => {
            let short: String = text.chars().take(40).collect();
            format!("a string ('{short}')")
        }
        NodeValue::Int(number) => format!("an integer ({number})"),
        NodeValue::Float(number) => format!("a number ({number})"),
        NodeValue::Bool(flag) => format!("a boolean ({flag})"),
        _ => node.kind_name().to_string(),
    }
}

fn display_scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
