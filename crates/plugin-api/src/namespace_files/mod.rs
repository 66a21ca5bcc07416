//! Namespace files copied into a task's working directory (`namespaceFiles` on script tasks and
//! on WorkingDirectory): the property, which files it selects, the copy.

mod load;
mod selection;
mod spec;

pub use load::load_namespace_files;
pub use selection::Selection;
pub use spec::{IfExists, NamespaceFiles};
