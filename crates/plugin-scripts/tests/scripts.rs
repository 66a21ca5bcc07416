//! Script tasks and task runners: names resolve, the shared properties reach every task's schema,
//! and typical flows validate while mistakes are reported.

use peregrine_model::{Kind, Registry, Role, Validator};

fn registry() -> Registry {
    let mut registry = peregrine_model::core_registry();
    peregrine_plugin_scripts::register(&mut registry);
    registry
}

const TASKS: &[&str] = &[
    "io.kestra.plugin.scripts.shell.Commands",
    "io.kestra.plugin.scripts.shell.Script",
    "io.kestra.plugin.scripts.python.Commands",
    "io.kestra.plugin.scripts.python.Script",
    "io.kestra.plugin.scripts.node.Commands",
    "io.kestra.plugin.scripts.node.Script",
    "io.kestra.core.tasks.scripts.Bash",
    "io.kestra.core.tasks.scripts.Python",
    "io.kestra.core.tasks.scripts.Node",
];

const RUNNERS: &[&str] = &[
    "io.kestra.plugin.core.runner.Process",
    "io.kestra.plugin.scripts.runner.docker.Docker",
];

#[test]
fn every_type_resolves_and_script_tasks_share_the_common_properties() {
    let registry = registry();
    for name in TASKS {
        let entry = registry
            .lookup(Kind::Task, name)
            .expect("every script task is registered");
        assert_eq!(entry.role, Role::Runnable, "{name}");
        if name.starts_with("io.kestra.plugin.scripts.") {
            // Flattened ScriptProperties are merged into the task's own properties.
            let properties = entry.schema["properties"].as_object().expect("properties");
            for common in [
                "taskRunner",
                "containerImage",
                "beforeCommands",
                "namespaceFiles",
                "targetOS",
                "docker",
            ] {
                assert!(properties.contains_key(common), "{name} lacks {common}");
            }
            let required = entry.schema["required"].as_array().expect("required");
            assert_eq!(required.len(), 1, "{name}: {required:?}");
        }
    }
    for name in RUNNERS {
        assert!(
            registry.lookup(Kind::TaskRunner, name).is_some(),
            "{name} missing"
        );
    }
    assert_eq!(
        registry
            .types(Kind::Task)
            .filter(|entry| entry.role == Role::Runnable)
            .count(),
        TASKS.len()
    );
    assert_eq!(registry.types(Kind::TaskRunner).count(), RUNNERS.len());
}

#[test]
fn a_flow_using_script_tasks_validates_without_diagnostics() {
    let registry = registry();
    let source = r#"
id: scripts
namespace: company.team
tasks:
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    env:
      NAME: kestra
      COUNT: 3
    commands:
      - echo "hello $NAME"
    outputFiles: ["*.txt"]
    namespaceFiles:
      enabled: true
      include: [scripts/**]
  - id: python
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.12-slim
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
      pullPolicy: IF_NOT_PRESENT
      cpu:
        cpus: 1.5
      memory:
        memory: 512m
    dependencies: [requests]
    beforeCommands: [pip install pandas]
    targetOS: LINUX
    inputFiles:
      data.json: '{"a": 1}'
    script: |
      print("hi")
  - id: legacy
    type: io.kestra.core.tasks.scripts.Bash
    runner: DOCKER
    dockerOptions:
      image: ubuntu
    commands:
      - echo legacy
"#;
    let report = Validator::new(&registry).validate_one(source);
    let messages: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(messages.is_empty(), "{}", messages.join("\n"));
}

#[test]
fn mistakes_in_script_tasks_are_reported() {
    let registry = registry();
    let source = r#"
id: scripts
namespace: company.team
tasks:
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    commands: []
    invalid: 1
  - id: node
    type: io.kestra.plugin.scripts.node.Script
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
      pullPolicy: SOMETIMES
"#;
    let report = Validator::new(&registry).validate_one(source);
    let messages: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    let has = |text: &str| messages.iter().any(|message| message.contains(text));
    assert!(has("unknown property 'invalid'"), "{messages:?}");
    assert!(has("must not be empty"), "{messages:?}");
    assert!(has("missing required property 'script'"), "{messages:?}");
    assert!(has("invalid value SOMETIMES"), "{messages:?}");
    assert_eq!(messages.len(), 4, "{messages:?}");
}
