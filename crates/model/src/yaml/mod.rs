//! YAML reading with positions: every node knows its line and column.

mod load;
mod node;

pub use load::{Document, LoadWarning, SyntaxError, load_document, load_documents};
pub use node::{Entry, Node, NodeValue, Pos, Span};
