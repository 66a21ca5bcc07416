//! Connects the model's expression port to the Pebble-compatible engine: syntax checks for the
//! validator, rendering for the engine and the tasks.

use peregrine_model::expressions::Expressions;
use peregrine_model::schema::ExpressionSyntax;
use serde_json::Value;

/// Checks and renders `{{ }}` / `{% %}` templates with `peregrine-expr`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PebbleSyntax;

impl ExpressionSyntax for PebbleSyntax {
    fn check(&self, template: &str) -> Result<(), String> {
        peregrine_expr::validate_syntax(template).map_err(|error| error.to_string())
    }
}

/// The clock behind `now()`: the composition root is where the wall clock is read.
struct WallClock;

impl peregrine_expr::Host for WallClock {
    fn call(
        &self,
        _name: &str,
        _args: &peregrine_expr::Args,
        _variables: &dyn peregrine_expr::Variables,
    ) -> Option<Result<Value, peregrine_expr::Error>> {
        None
    }

    fn now(&self) -> Option<jiff::Timestamp> {
        Some(jiff::Timestamp::now())
    }
}

impl Expressions for PebbleSyntax {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let context = peregrine_expr::Context::new(variables).with_host(&WallClock);
        peregrine_expr::render_typed(template, &context).map_err(|error| error.to_string())
    }
}
