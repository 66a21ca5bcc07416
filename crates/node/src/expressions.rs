//! Connects the flow validator to the expression engine, so template syntax errors are found
//! when a flow is saved rather than when it runs.

use peregrine_model::schema::ExpressionSyntax;

/// Checks `{{ }}` / `{% %}` templates with the Pebble-compatible engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct PebbleSyntax;

impl ExpressionSyntax for PebbleSyntax {
    fn check(&self, template: &str) -> Result<(), String> {
        peregrine_expr::validate_syntax(template).map_err(|error| error.to_string())
    }
}
