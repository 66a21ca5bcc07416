//! # peregrine-expr
//!
//! A Pebble-compatible template and expression engine with Kestra's
//! semantics, so that Kestra YAML flows render unchanged:
//!
//! * `{{ expr }}`, `{% if %}`, `{% for %}`, `{% set %}`, `{% filter %}`,
//!   `{% raw %}`, `{# comments #}`, whitespace control with `-`;
//! * strict variables (an undefined variable or key is an error naming it),
//!   with the exceptions Pebble and Kestra make: `is defined`, `??`, `???`
//!   and the `default` filter;
//! * Pebble's operators and precedence, integer vs floating arithmetic,
//!   Java's number printing, maps and lists printed as JSON (Kestra);
//! * Pebble's and Kestra's filters, tests and functions (see `SUPPORTED.md`);
//! * a [`Host`] hook for functions that need the outside world
//!   (`secret()`, `kv()`, `read()`, …) and for the clock behind `now()`.
//!
//! ```
//! use peregrine_expr::{Context, Template};
//! use serde_json::json;
//!
//! let vars = json!({"inputs": {"count": 3, "name": "peregrine"}});
//! let ctx = Context::new(&vars);
//! let t = Template::parse("{{ inputs.name | title }} x{{ inputs.count + 1 }}")?;
//! assert_eq!(t.render(&ctx)?, "Peregrine x4");
//! let typed = peregrine_expr::render_typed("{{ inputs.count }}", &ctx)?;
//! assert_eq!(typed, json!(3));
//! # Ok::<(), peregrine_expr::Error>(())
//! ```
//!
//! The crate is pure: no I/O, no system clock, no randomness.

mod ast;
mod codec;
mod context;
mod date;
mod error;
mod eval;
mod filters;
mod functions;
mod hash;
mod javafmt;
mod jq;
mod lexer;
mod methods;
mod parser;
mod raw;
mod template;
mod tests;
mod value;
mod yaml;

pub use context::{Args, Context, HOST_FUNCTIONS, Host, Variables};
pub use error::{Error, Pos, Result};
pub use filters::FILTERS;
pub use functions::{FUNCTIONS, MAX_RANGE};
pub use javafmt::{java_double, java_string, json as to_json_string};
pub use methods::METHODS;
pub use template::{
    Template, contains_expression, render, render_typed, render_value, render_value_tree,
    render_with, validate_syntax,
};
pub use tests::TESTS;

/// Kestra's limit on recursive `render()` passes.
pub const MAX_RENDERING_AMOUNT: usize = 100;
