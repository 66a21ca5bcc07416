//! The Kestra-compatible flow model.
//!
//! - [`yaml`]: YAML reading that keeps line and column of every value;
//! - [`registry`]: the catalogue of task, trigger, condition, input and retry types, filled by
//!   plugin crates;
//! - [`schema`]: checking a YAML tree against the catalogue's JSON Schemas, and the flow schema
//!   printed for editors;
//! - [`flow`], [`tasks`], [`triggers`]: the typed model and the core control-flow and trigger specs;
//! - [`validate`]: the entry point, returning a typed [`flow::Flow`] or every problem at once.
//!
//! Pure: no I/O, no clock.

pub mod check;
pub mod conditions;
pub mod diagnostic;
pub mod duration;
pub mod execution;
pub mod expressions;
pub mod flow;
pub mod log;
pub mod path;
pub mod property;
pub mod registry;
mod rules;
pub mod schema;
pub mod state;
pub mod tasks;
pub mod triggers;
pub mod validate;
pub mod yaml;

pub use diagnostic::{Code, Diagnostic};
pub use duration::Duration;
pub use flow::{Flow, Task, Trigger};
pub use property::Property;
pub use registry::{Kind, PluginSpec, Registry, Role};
pub use validate::{FlowReport, Validator};

/// A catalogue with the model's own core types: control-flow tasks and core triggers.
pub fn core_registry() -> Registry {
    let mut registry = Registry::new();
    tasks::register(&mut registry);
    triggers::register(&mut registry);
    conditions::register(&mut registry);
    registry
}
