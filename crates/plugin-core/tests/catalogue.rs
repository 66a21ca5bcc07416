//! The core plugin catalogue: every Kestra type name and alias resolves, and typical flows
//! validate cleanly while unknown properties are still refused.

use peregrine_model::{Kind, Registry, Validator};

fn registry() -> Registry {
    let mut registry = peregrine_model::core_registry();
    peregrine_plugin_core::register(&mut registry);
    registry
}

/// Canonical name (short, under `io.kestra.plugin.core.`) and the aliases Kestra declares.
const TASKS: &[(&str, &[&str])] = &[
    ("log.Log", &["io.kestra.core.tasks.log.Log"]),
    ("log.Fetch", &["io.kestra.core.tasks.log.Fetch"]),
    ("log.PurgeLogs", &[]),
    ("debug.Return", &["io.kestra.core.tasks.debugs.Return"]),
    ("debug.Echo", &["io.kestra.core.tasks.debugs.Echo"]),
    ("execution.Fail", &["io.kestra.core.tasks.executions.Fail"]),
    ("execution.Exit", &[]),
    (
        "execution.Labels",
        &["io.kestra.core.tasks.executions.Labels"],
    ),
    ("execution.Resume", &[]),
    (
        "execution.Count",
        &["io.kestra.core.tasks.executions.Counts"],
    ),
    (
        "execution.PurgeExecutions",
        &[
            "io.kestra.core.tasks.storages.Purge",
            "io.kestra.plugin.core.storage.Purge",
        ],
    ),
    ("execution.Assert", &[]),
    ("execution.SetVariables", &[]),
    ("execution.UnsetVariables", &[]),
    ("flow.Sleep", &[]),
    ("http.Request", &["io.kestra.plugin.fs.http.Request"]),
    ("http.Download", &["io.kestra.plugin.fs.http.Download"]),
    ("kv.Set", &[]),
    ("kv.Get", &[]),
    ("kv.GetKeys", &[]),
    ("kv.Delete", &[]),
    ("kv.PurgeKV", &[]),
    ("metric.Publish", &[]),
    ("namespace.UploadFiles", &[]),
    ("namespace.DownloadFiles", &[]),
    ("namespace.DeleteFiles", &[]),
    ("output.OutputValues", &[]),
    ("state.Set", &["io.kestra.core.tasks.states.Set"]),
    ("state.Get", &["io.kestra.core.tasks.states.Get"]),
    ("state.Delete", &["io.kestra.core.tasks.states.Delete"]),
    ("storage.Concat", &["io.kestra.core.tasks.storages.Concat"]),
    (
        "storage.DeduplicateItems",
        &["io.kestra.core.tasks.storages.DeduplicateItems"],
    ),
    ("storage.Delete", &["io.kestra.core.tasks.storages.Delete"]),
    (
        "storage.FilterItems",
        &["io.kestra.core.tasks.storages.FilterItems"],
    ),
    (
        "storage.LocalFiles",
        &["io.kestra.core.tasks.storages.LocalFiles"],
    ),
    (
        "storage.PurgeCurrentExecutionFiles",
        &[
            "io.kestra.core.tasks.storages.PurgeExecution",
            "io.kestra.plugin.core.storage.PurgeExecution",
        ],
    ),
    (
        "storage.Reverse",
        &["io.kestra.core.tasks.storages.Reverse"],
    ),
    ("storage.Size", &["io.kestra.core.tasks.storages.Size"]),
    ("storage.Split", &["io.kestra.core.tasks.storages.Split"]),
    ("storage.Write", &[]),
    (
        "templating.TemplatedTask",
        &["io.kestra.core.tasks.templating.TemplatedTask"],
    ),
    ("trigger.Toggle", &["io.kestra.core.tasks.trigger.Toggle"]),
];

#[test]
fn every_type_and_alias_resolves_to_its_canonical_name() {
    let registry = registry();
    let mut failures = Vec::new();
    for (short, aliases) in TASKS {
        let canonical = format!("io.kestra.plugin.core.{short}");
        for name in std::iter::once(canonical.as_str()).chain(aliases.iter().copied()) {
            match registry.lookup(Kind::Task, name) {
                Some(entry)
                    if entry.name == canonical && entry.role == peregrine_model::Role::Runnable => {
                }
                Some(entry) => failures.push(format!(
                    "{name} resolves to {} ({:?})",
                    entry.name, entry.role
                )),
                None => failures.push(format!("{name} is not registered")),
            }
        }
    }
    let trigger = registry.lookup(Kind::Trigger, "io.kestra.plugin.fs.http.Trigger");
    if trigger.map(|entry| entry.name) != Some("io.kestra.plugin.core.http.Trigger") {
        failures.push("the HTTP trigger alias does not resolve".to_string());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Nothing registered here is missing from the table above.
    let core_tasks = registry
        .types(Kind::Task)
        .filter(|entry| entry.role == peregrine_model::Role::Runnable)
        .count();
    assert_eq!(core_tasks, TASKS.len());
}

#[test]
fn a_flow_using_core_tasks_validates_without_diagnostics() {
    let registry = registry();
    let source = r#"
id: core-tasks
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message:
      - first line
      - "{{ flow.id }}"
    level: WARN
  - id: value
    type: io.kestra.core.tasks.debugs.Return
    format: "{{ execution.id }}"
  - id: outputs
    type: io.kestra.plugin.core.output.OutputValues
    values:
      answer: 42
      nested: { a: [1, 2] }
  - id: labels
    type: io.kestra.plugin.core.execution.Labels
    labels:
      team: data
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: https://example.com/api
    method: POST
    body: '{"a": 1}'
    headers:
      Authorization: Bearer x
    options:
      timeout:
        connectTimeout: PT5S
      readTimeout: PT30S
      auth:
        type: BASIC
        username: u
        password: p
    allowFailed: true
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT1S
  - id: stop
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{ outputs.value.value == 'x' }}"
    errorMessage: boom
triggers:
  - id: poll
    type: io.kestra.plugin.core.http.Trigger
    uri: https://example.com/health
    interval: PT30S
    responseCondition: "{{ response.statusCode == 200 }}"
    conditions:
      - type: io.kestra.plugin.core.condition.Weekend
"#;
    let report = Validator::new(&registry).validate_one(source);
    let messages: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(messages.is_empty(), "{}", messages.join("\n"));
    assert!(report.flow.is_some());
}

#[test]
fn unknown_and_missing_properties_are_reported() {
    let registry = registry();
    let source = r#"
id: bad
namespace: company.team
tasks:
  - id: value
    type: io.kestra.plugin.core.debug.Return
    format: hi
    invalid: true
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
  - id: call
    type: io.kestra.plugin.core.http.Request
    uri: https://example.com
    options:
      readTimeot: PT1S
"#;
    let report = Validator::new(&registry).validate_one(source);
    let messages: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    let has = |text: &str| messages.iter().any(|message| message.contains(text));
    assert!(has("unknown property 'invalid'"), "{messages:?}");
    assert!(has("missing required property 'duration'"), "{messages:?}");
    assert!(has("unknown property 'readTimeot'"), "{messages:?}");
    assert_eq!(messages.len(), 3, "{messages:?}");
}
