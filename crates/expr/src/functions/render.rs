//! `render()` and `renderOnce()`: render a value again in the current
//! context, recursively until it stops changing (at most 100 passes, as
//! Kestra's `VariableRenderer.MAX_RENDERING_AMOUNT`).

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::template::{Template, contains_expression};

/// Kestra's limit on recursive rendering passes.
pub const MAX_RENDERING_AMOUNT: usize = 100;

/// Renders `s` with the variables visible to `ev`.
pub(crate) fn render_nested(ev: &Evaluator<'_>, s: &str, recursive: bool) -> Result<String> {
    let mut current = s.to_owned();
    for _ in 0..MAX_RENDERING_AMOUNT {
        if !contains_expression(&current) {
            return Ok(current);
        }
        let tpl = Template::parse(&current)?;
        let mut child = ev.child().map_err(Error::Host)?;
        child.keep_raw = recursive;
        let mut out = String::new();
        child.render(tpl.nodes(), &mut out)?;
        if !recursive {
            return Ok(out);
        }
        if out == current {
            return Ok(crate::template::strip_raw_tags(&out));
        }
        current = out;
    }
    Err(Error::TooManyRenders(MAX_RENDERING_AMOUNT))
}

/// Renders strings inside maps (keys too) and lists; other values as is.
pub(crate) fn render_value(ev: &Evaluator<'_>, v: &Value, recursive: bool) -> Result<Value> {
    Ok(match v {
        Value::String(s) => Value::String(render_nested(ev, s, recursive)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| render_value(ev, i, recursive))
                .collect::<Result<_>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, x) in map {
                let key = render_nested(ev, k, recursive)?;
                let val = render_value(ev, x, recursive)?;
                out.entry(key).or_insert(val);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}
