//! The expression port: how the engine and the tasks render `{{ }}` templates, whatever engine
//! implements it (the composition root wires the Pebble-compatible one).

use serde_json::Value;

pub trait Expressions: Send + Sync {
    /// Renders a template against `variables`. A template that is one `{{ expr }}` returns the
    /// expression's value as it is (a list stays a list); any other returns a string.
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String>;

    /// Renders a template to text.
    fn render_string(&self, template: &str, variables: &Value) -> Result<String, String> {
        Ok(match self.render(template, variables)? {
            Value::String(text) => text,
            Value::Null => String::new(),
            other => other.to_string(),
        })
    }
}
