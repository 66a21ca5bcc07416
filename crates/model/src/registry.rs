//! The plugin catalogue: every task, trigger, condition, task runner, input and retry type a flow
//! may name, with its JSON Schema. Crates add their types with [`Registry::register`]; nothing is
//! hard-coded in the validator.

use std::collections::HashMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::check::CheckContext;

/// The families of polymorphic objects selected by their `type` property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Task,
    Trigger,
    Condition,
    TaskRunner,
    Input,
    Retry,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Task,
        Kind::Trigger,
        Kind::Condition,
        Kind::TaskRunner,
        Kind::Input,
        Kind::Retry,
    ];

    /// The name of the schema definition that stands for "any object of this kind".
    pub fn def_name(self) -> &'static str {
        match self {
            Kind::Task => "Task",
            Kind::Trigger => "Trigger",
            Kind::Condition => "Condition",
            Kind::TaskRunner => "TaskRunner",
            Kind::Input => "Input",
            Kind::Retry => "Retry",
        }
    }

    /// The word used in messages ("unknown task type ...").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::Trigger => "trigger",
            Kind::Condition => "condition",
            Kind::TaskRunner => "task runner",
            Kind::Input => "input",
            Kind::Retry => "retry",
        }
    }

    pub fn from_def_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.def_name() == name)
    }

    /// Whether objects of this kind need an `id`.
    pub fn has_id(self) -> bool {
        matches!(self, Kind::Task | Kind::Trigger | Kind::Input)
    }
}

/// How the engine runs a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs on a worker.
    Runnable,
    /// Control flow, resolved by the executor.
    Flowable,
    /// Not a task (triggers, conditions, inputs...).
    None,
}

/// A type that can appear in a flow under `type:`.
pub trait PluginSpec: JsonSchema + DeserializeOwned {
    const KIND: Kind;
    /// The fully-qualified type name, e.g. `io.kestra.plugin.core.log.Log`.
    const TYPE: &'static str;
    /// Older names accepted for the same type, e.g. `io.kestra.core.tasks.log.Log`.
    const ALIASES: &'static [&'static str] = &[];
    const ROLE: Role = Role::None;

    /// Rules beyond the schema, run on the raw node (e.g. "Switch needs at least one branch").
    fn check(_context: &mut CheckContext<'_>) {}
}

pub type CheckFn = fn(&mut CheckContext<'_>);

/// One registered type.
#[derive(Clone, Debug)]
pub struct PluginType {
    pub kind: Kind,
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub role: Role,
    /// The type's own object schema (its `properties`, `required`, ...), without the common ones.
    pub schema: Value,
    pub check: CheckFn,
}

/// The catalogue of types, plus the schema definitions they refer to.
pub struct Registry {
    types: Vec<PluginType>,
    by_name: HashMap<Kind, HashMap<String, usize>>,
    common: HashMap<Kind, Value>,
    flow: Value,
    /// Builds schemas while types are registered (its definitions are moved out after each);
    /// behind a mutex only to keep the registry `Sync` (registration needs `&mut self` anyway).
    generator: std::sync::Mutex<SchemaGenerator>,
    /// The definitions the registered schemas refer to, copied out of the generator.
    definitions: Map<String, Value>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("types", &self.types.len())
            .finish()
    }
}

impl Registry {
    /// An empty catalogue with the model's own kinds (inputs, retries) and common properties.
    pub fn new() -> Self {
        let generator = SchemaSettings::draft2020_12().into_generator();
        let mut registry = Self {
            types: Vec::new(),
            by_name: HashMap::new(),
            common: HashMap::new(),
            flow: Value::Bool(true),
            generator: std::sync::Mutex::new(generator),
            definitions: Map::new(),
        };
        registry.flow = registry.object_schema::<crate::flow::Flow>();
        crate::flow::register_common(&mut registry);
        registry
    }

    /// Sets the properties every type of `kind` accepts (`id`, `type`, `retry`, ...).
    pub fn set_common<T: JsonSchema>(&mut self, kind: Kind) {
        let schema = self.object_schema::<T>();
        self.common.insert(kind, schema);
    }

    /// Adds a type. Registering the same name twice keeps the last one.
    pub fn register<T: PluginSpec>(&mut self) {
        let schema = self.object_schema::<T>();
        let entry = PluginType {
            kind: T::KIND,
            name: T::TYPE,
            aliases: T::ALIASES,
            role: T::ROLE,
            schema,
            check: T::check,
        };
        let index = self.types.len();
        for name in std::iter::once(T::TYPE).chain(T::ALIASES.iter().copied()) {
            self.by_name
                .entry(T::KIND)
                .or_default()
                .insert(name.to_string(), index);
        }
        self.types.push(entry);
    }

    fn object_schema<T: JsonSchema>(&mut self) -> Value {
        let schema = match self.generator.get_mut() {
            Ok(generator) => {
                let schema = generator.subschema_for::<T>();
                // Moved out rather than copied, so each definition is held once: the generator
                // makes a definition again when a later type refers to it.
                for (name, definition) in generator.take_definitions(false) {
                    self.definitions.entry(name).or_insert(definition);
                }
                schema
            }
            Err(_) => return Value::Bool(true),
        };
        let value = schema.to_value();
        // Structs come back as a reference; keep the definition itself for the type.
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => self.resolve(reference).cloned().unwrap_or(value),
            None => value,
        }
    }

    /// The schema of the flow document itself.
    pub fn flow_schema(&self) -> &Value {
        &self.flow
    }

    /// Finds a type by its name or one of its aliases.
    pub fn lookup(&self, kind: Kind, name: &str) -> Option<&PluginType> {
        self.by_name
            .get(&kind)?
            .get(name)
            .map(|&index| &self.types[index])
    }

    /// The common property schema of a kind.
    pub fn common(&self, kind: Kind) -> Option<&Value> {
        self.common.get(&kind)
    }

    /// Every registered type of a kind, in registration order.
    pub fn types(&self, kind: Kind) -> impl Iterator<Item = &PluginType> {
        self.types.iter().filter(move |entry| entry.kind == kind)
    }

    /// Resolves a `#/$defs/...` reference to its definition.
    pub fn resolve(&self, reference: &str) -> Option<&Value> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.definitions.get(name)
    }

    /// Every schema definition (structs referred to by the types).
    pub fn definitions(&self) -> &Map<String, Value> {
        &self.definitions
    }

    /// Close names for an unknown type, best first (for "did you mean" hints).
    pub fn suggest(&self, kind: Kind, name: &str) -> Option<&'static str> {
        let wanted_short = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
        self.types(kind)
            .filter(|entry| {
                let short = entry.name.rsplit('.').next().unwrap_or(entry.name);
                let limit = (name.len() / 4).max(1);
                (short.eq_ignore_ascii_case(&wanted_short) && wanted_short.len() > 3)
                    || crate::check::edit_distance(entry.name, name) <= limit
            })
            .map(|entry| entry.name)
            .next()
    }
}
