//! Reads the rendered `spec` of a TemplatedTask into a task definition.
//!
//! A type this crate knows (a core task, under its name or an alias) is checked against its
//! schema as a flow's tasks are: scalars coerced, the canonical type name set, every problem
//! reported. Any other type is read as written and left to the worker's runners.

use std::sync::OnceLock;

use peregrine_model::flow::Task;
use peregrine_model::path::YamlPath;
use peregrine_model::schema::Walker;
use peregrine_model::yaml::{Entry, Node, NodeValue, Span, load_document};
use peregrine_model::{Kind, PluginSpec, Registry, Role};
use peregrine_plugin_api::TaskError;
use serde_json::json;

use super::templated_task::TemplatedTaskSpec;

/// The model's core types and this crate's, built once.
fn catalogue() -> &'static Registry {
    static CATALOGUE: OnceLock<Registry> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let mut registry = peregrine_model::core_registry();
        crate::register(&mut registry);
        registry
    })
}

fn invalid(message: impl Into<String>) -> TaskError {
    TaskError::Property {
        property: "spec".into(),
        message: message.into(),
    }
}

/// Reads `yaml` into a runnable task; a definition without an `id` gets `default_id`.
pub(crate) fn read_task(yaml: &str, default_id: &str) -> Result<Task, TaskError> {
    let document = load_document(yaml).map_err(|error| invalid(error.to_string()))?;
    let mut root = document.root;
    let NodeValue::Map(entries) = &mut root.value else {
        return Err(invalid(format!(
            "the templated task must be a mapping, found {}",
            root.kind_name()
        )));
    };
    if !entries.iter().any(|entry| entry.key == "id") {
        entries.push(Entry {
            key: "id".into(),
            key_span: Span::default(),
            value: Node {
                value: NodeValue::Str {
                    text: default_id.to_string(),
                    plain: false,
                },
                span: Span::default(),
            },
        });
    }
    let type_name = root
        .get("type")
        .and_then(Node::scalar_text)
        .ok_or_else(|| invalid("missing required property 'type' (the task type)"))?;
    let registry = catalogue();
    let value = match registry.lookup(Kind::Task, &type_name) {
        Some(entry) if entry.name == TemplatedTaskSpec::TYPE => {
            return Err(invalid(format!(
                "The templated task cannot be of type '{}'",
                TemplatedTaskSpec::TYPE
            )));
        }
        Some(entry) if entry.role != Role::Runnable => {
            return Err(invalid(format!(
                "The templated task must be a runnable task, '{}' is not",
                entry.name
            )));
        }
        Some(_) => {
            let identity = Default::default();
            let mut walker = Walker::new(registry, &identity, None);
            let value = walker.walk(&root, &json!({"$ref": "#/$defs/Task"}), &YamlPath::root());
            if !walker.diagnostics.is_empty() {
                let problems: Vec<String> =
                    walker.diagnostics.iter().map(ToString::to_string).collect();
                return Err(invalid(problems.join("; ")));
            }
            value
        }
        None => root.to_json(),
    };
    serde_json::from_value(value).map_err(|error| invalid(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_aliased_core_task_with_coerced_scalars() {
        let yaml = "type: io.kestra.plugin.fs.http.Download\nuri: http://host/a.csv\nfailOnEmptyResponse: 'false'\n";
        let task = read_task(yaml, "outer").expect("a task");
        assert_eq!(task.common.id, "outer");
        assert_eq!(task.common.type_name, "io.kestra.plugin.core.http.Download");
        assert_eq!(
            task.properties.get("failOnEmptyResponse"),
            Some(&json!(false))
        );
    }

    #[test]
    fn refuses_itself_flowables_and_unknown_properties() {
        let nested = "type: io.kestra.plugin.core.templating.TemplatedTask\nspec: x\n";
        assert!(read_task(nested, "t").is_err());
        let flowable = "id: s\ntype: io.kestra.plugin.core.flow.Sequential\ntasks: []\n";
        assert!(read_task(flowable, "t").is_err());
        let typo = "type: io.kestra.plugin.core.log.Log\nmesage: hi\n";
        assert!(read_task(typo, "t").is_err());
        assert!(read_task("- a list", "t").is_err());
    }

    #[test]
    fn keeps_types_it_does_not_know_as_written() {
        let yaml = "id: sh\ntype: io.kestra.plugin.scripts.shell.Commands\ncommands: [echo 1]\n";
        let task = read_task(yaml, "t").expect("a task");
        assert_eq!(
            task.common.type_name,
            "io.kestra.plugin.scripts.shell.Commands"
        );
        assert_eq!(task.properties.get("commands"), Some(&json!(["echo 1"])));
    }
}
