//! The `namespaceFiles` property of script tasks: Kestra's shared spec, copied into the working
//! directory before the task runs.

pub use peregrine_plugin_api::namespace_files::{IfExists, NamespaceFiles};
