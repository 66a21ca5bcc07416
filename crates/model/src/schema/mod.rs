//! JSON Schema: checking flows against the catalogue, and the schema printed for editors.

mod editor;
mod walk;

pub use editor::flow_schema;
pub use walk::{ExpressionSyntax, Site, Walker};
