//! `inputFiles`: files created in the working directory before the commands run, given as a
//! mapping of file name to content or as a JSON string of one; names and contents are rendered.

use peregrine_plugin_api::{RunContext, TaskError};
use serde_json::Value;

use super::locals::Locals;

/// The files to write, as (relative name, content), in the order given.
pub(crate) fn render_input_files(
    context: &RunContext,
    locals: &Locals,
    input_files: Option<&Value>,
) -> Result<Vec<(String, String)>, TaskError> {
    let invalid = |message: String| TaskError::Property {
        property: "inputFiles".to_string(),
        message,
    };
    // A JSON string is rendered as a whole, a mapping entry by entry.
    let (entries, rendered) = match input_files {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => (map.clone(), false),
        Some(Value::String(template)) => {
            let rendered = locals.render(context, template)?;
            match serde_json::from_str::<Value>(&rendered) {
                Ok(Value::Object(map)) => (map, true),
                Ok(_) | Err(_) => {
                    return Err(invalid(format!(
                        "expected a mapping of file name to content, got '{rendered}'"
                    )));
                }
            }
        }
        Some(other) => {
            return Err(invalid(format!(
                "expected a mapping of file name to content, got {other}"
            )));
        }
    };
    let mut files = Vec::with_capacity(entries.len());
    for (name, content) in entries {
        let content = match content {
            // Kestra drops entries without content.
            Value::Null => continue,
            Value::String(text) if rendered => text,
            Value::String(template) => locals.render(context, &template)?,
            other => other.to_string(),
        };
        let name = if rendered {
            name
        } else {
            locals.render(context, &name)?
        };
        files.push((name, content));
    }
    Ok(files)
}
