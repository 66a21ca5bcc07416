//! Rendering with the variables a script task adds for its own properties (Kestra's task runner
//! "additional vars": `workingDir`, `outputDir`, and for the deprecated Bash task `outputFiles`,
//! `temp`, `outputDirs`).
//!
//! The task API renders against the execution's variables only, so these are substituted before
//! rendering: a tag that is exactly a reference to one of them (`{{ workingDir }}`,
//! `{{outputFiles.out}}`, `{{ outputFiles['out'] }}`) is replaced by its value, and the rest is
//! rendered as usual. Richer expressions over them (`{{ workingDir ~ '/x' }}`) are not supported.

use peregrine_model::Property;
use peregrine_plugin_api::{RunContext, TaskError};
use serde_json::{Map, Value};

/// The task's own variables, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Locals {
    variables: Map<String, Value>,
}

impl Locals {
    pub fn insert(&mut self, name: &str, value: impl Into<Value>) {
        self.variables.insert(name.to_string(), value.into());
    }

    /// Renders a template: local references first, then the execution's variables.
    pub fn render(&self, context: &RunContext, template: &str) -> Result<String, TaskError> {
        let substituted = self.substitute(template);
        if peregrine_model::property::is_expression(&substituted) {
            context.render(&substituted)
        } else {
            Ok(substituted)
        }
    }

    /// Renders a list property: each item of a literal list, or the list an expression gives.
    pub fn render_list(
        &self,
        context: &RunContext,
        name: &str,
        property: &Property<Vec<String>>,
    ) -> Result<Vec<String>, TaskError> {
        match property {
            Property::Value(items) => items
                .iter()
                .map(|item| self.render(context, item))
                .collect(),
            Property::Expression(template) => {
                context.render_property(name, &Property::Expression(self.substitute(template)))
            }
        }
    }

    /// Replaces each tag that only references a local variable by the variable's text.
    fn substitute(&self, template: &str) -> String {
        if self.variables.is_empty() || !template.contains("{{") {
            return template.to_string();
        }
        let mut output = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let Some(length) = rest[start + 2..].find("}}") else {
                break;
            };
            let end = start + 2 + length;
            match self.lookup(rest[start + 2..end].trim()) {
                Some(text) => {
                    output.push_str(&rest[..start]);
                    output.push_str(&text);
                }
                None => output.push_str(&rest[..end + 2]),
            }
            rest = &rest[end + 2..];
        }
        output.push_str(rest);
        output
    }

    /// The text of `name`, `name.key` or `name['key']`, if `name` is a local variable.
    fn lookup(&self, reference: &str) -> Option<String> {
        let name_end = reference
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(reference.len());
        let mut value = self.variables.get(&reference[..name_end])?;
        let mut path = &reference[name_end..];
        while !path.is_empty() {
            let (key, rest) = if let Some(after_dot) = path.strip_prefix('.') {
                let key_end = after_dot
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(after_dot.len());
                (&after_dot[..key_end], &after_dot[key_end..])
            } else {
                let inner = path.strip_prefix('[')?;
                let quote = inner.chars().next().filter(|c| *c == '\'' || *c == '"')?;
                let inner = &inner[1..];
                let key_end = inner.find(quote)?;
                let rest = inner[key_end + 1..].strip_prefix(']')?;
                (&inner[..key_end], rest)
            };
            if key.is_empty() {
                return None;
            }
            value = value.get(key)?;
            path = rest;
        }
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Null | Value::Object(_) | Value::Array(_) => None,
            other => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Locals;
    use serde_json::json;

    #[test]
    fn only_plain_references_to_locals_are_substituted() {
        let mut locals = Locals::default();
        locals.insert("workingDir", "/tmp/w");
        locals.insert(
            "outputFiles",
            json!({"out": "/tmp/w/out_1.tmp", "my-file": "/f"}),
        );
        assert_eq!(
            locals.substitute("cat {{workingDir}}/a > {{ outputFiles.out }}"),
            "cat /tmp/w/a > /tmp/w/out_1.tmp"
        );
        assert_eq!(locals.substitute("{{ outputFiles['my-file'] }}"), "/f");
        assert_eq!(
            locals.substitute("{{ inputs.name }} {{ workingDir | upper }}"),
            "{{ inputs.name }} {{ workingDir | upper }}"
        );
        assert_eq!(
            locals.substitute("{{ outputFiles.missing }}"),
            "{{ outputFiles.missing }}"
        );
        assert_eq!(locals.substitute("echo '{{ unclosed"), "echo '{{ unclosed");
    }
}
