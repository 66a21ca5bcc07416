//! Parsed, cacheable templates and the rendering entry points.

use serde_json::{Map, Value};

use crate::ast::Node;
use crate::context::Context;
use crate::error::Result;
use crate::eval::Evaluator;
use crate::{lexer, parser};

/// A parsed template. Parse once, render many times; `Template` is
/// `Send + Sync` and cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    nodes: Vec<Node>,
    plain: bool,
}

/// True when `s` contains `{{`, `{%` or `{#`, i.e. needs rendering.
pub fn contains_expression(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'{' && matches!(w[1], b'{' | b'%' | b'#'))
}

/// Checks that `s` is a syntactically valid template, without a context.
pub fn validate_syntax(s: &str) -> Result<()> {
    Template::parse(s).map(|_| ())
}

pub(crate) fn strip_raw_tags(s: &str) -> String {
    lexer::strip_raw(s)
}

impl Template {
    /// Parses a template. A string without `{{`, `{%` or `{#` is kept as
    /// plain text without running the lexer.
    pub fn parse(source: &str) -> Result<Self> {
        if !contains_expression(source) {
            return Ok(Self {
                source: source.to_owned(),
                nodes: Vec::new(),
                plain: true,
            });
        }
        let tokens = lexer::tokenize(source)?;
        let nodes = parser::parse(tokens)?;
        Ok(Self {
            source: source.to_owned(),
            nodes,
            plain: false,
        })
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the template has no expression, tag or comment.
    pub fn is_plain(&self) -> bool {
        self.plain
    }

    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Renders to text, the way Kestra's `VariableRenderer.render` does.
    pub fn render(&self, ctx: &Context<'_>) -> Result<String> {
        if self.plain {
            return Ok(self.source.clone());
        }
        let mut ev = Evaluator::new(ctx.clone());
        let mut out = String::with_capacity(self.source.len());
        ev.render(&self.nodes, &mut out)?;
        Ok(out)
    }

    /// Renders to a typed value: when the whole template is one
    /// `{{ expr }}`, the expression's value itself (an integer stays an
    /// integer, a list stays a list); otherwise the rendered text.
    pub fn render_value(&self, ctx: &Context<'_>) -> Result<Value> {
        if let [Node::Print(e)] = self.nodes.as_slice() {
            let ev = Evaluator::new(ctx.clone());
            return Ok(ev.eval(e)?.into_owned());
        }
        self.render(ctx).map(Value::String)
    }
}

/// Renders `template` against the variables `vars` (a JSON object).
///
/// ```
/// let out = peregrine_expr::render("Hello {{ name | upper }}", &serde_json::json!({"name": "kestra"}));
/// assert_eq!(out.ok().as_deref(), Some("Hello KESTRA"));
/// ```
pub fn render(template: &str, vars: &Value) -> Result<String> {
    render_with(template, &Context::new(vars))
}

/// Renders `template` in a full [`Context`] (host, clock, time zone).
pub fn render_with(template: &str, ctx: &Context<'_>) -> Result<String> {
    if !contains_expression(template) {
        return Ok(template.to_owned());
    }
    Template::parse(template)?.render(ctx)
}

/// Renders to a typed value, see [`Template::render_value`].
pub fn render_typed(template: &str, ctx: &Context<'_>) -> Result<Value> {
    if !contains_expression(template) {
        return Ok(Value::String(template.to_owned()));
    }
    Template::parse(template)?.render_value(ctx)
}

/// Alias of [`render_typed`].
pub fn render_value(template: &str, ctx: &Context<'_>) -> Result<Value> {
    render_typed(template, ctx)
}

/// Renders every string inside `value` (map keys too, like Kestra's
/// rendering of maps); numbers, booleans and nulls are kept. Strings
/// render to strings (use [`render_typed`] for typed properties).
pub fn render_value_tree(value: &Value, ctx: &Context<'_>) -> Result<Value> {
    Ok(match value {
        Value::String(s) => Value::String(render_with(s, ctx)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_value_tree(i, ctx))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = render_with(k, ctx)?;
                let val = render_value_tree(v, ctx)?;
                out.entry(key).or_insert(val);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}
