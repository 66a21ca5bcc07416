//! Data-driven validation tests: each case is a flow and the exact diagnostics it must produce.

use peregrine_model::{Kind, PluginSpec, Registry, Role, Validator};
use schemars::JsonSchema;
use serde::Deserialize;

/// A runnable task for these tests, standing for a plugin crate's task.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Echo {
    message: String,
    #[serde(default)]
    times: Option<peregrine_model::Property<u32>>,
}

impl PluginSpec for Echo {
    const KIND: Kind = Kind::Task;
    const TYPE: &'static str = "test.Echo";
    const ALIASES: &'static [&'static str] = &["test.legacy.Echo"];
    const ROLE: Role = Role::Runnable;
}

fn registry() -> Registry {
    let mut registry = peregrine_model::core_registry();
    registry.register::<Echo>();
    registry
}

/// Validates `source` and compares the diagnostics, one per line, with `expected`.
fn check(name: &str, source: &str, expected: &str, failures: &mut Vec<String>) {
    let registry = registry();
    let report = Validator::new(&registry).validate_one(source);
    let actual: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if actual != expected {
        failures.push(format!(
            "case {name}\n  expected:\n    {}\n  actual:\n    {}",
            expected.join("\n    "),
            actual.join("\n    ")
        ));
    }
    if expected.is_empty() && report.flow.is_none() {
        failures.push(format!("case {name}: valid but no typed flow"));
    }
}

const HEAD: &str = "id: demo\nnamespace: company.team\n";

#[test]
fn validation_cases() {
    let cases: &[(&str, String, &str)] = &[
        ("valid minimal", format!("{HEAD}tasks:\n  - id: a\n    type: test.Echo\n    message: hi\n"), ""),
        ("alias resolves", format!("{HEAD}tasks:\n  - id: a\n    type: test.legacy.Echo\n    message: hi\n"), ""),
        (
            "malformed yaml points at the line",
            format!("{HEAD}tasks:\n  - id: a\n    type: test.Echo\n   message: hi\n"),
            "6:4: <root>: malformed YAML: while parsing a block collection, did not find expected '-' indicator",
        ),
        (
            "unknown property with a hint",
            format!("{HEAD}tasks:\n  - id: a\n    type: test.Echo\n    mesage: hi\n"),
            "4:5: tasks[0].message: missing required property 'message'
             6:5: tasks[0].mesage: unknown property 'mesage' of test.Echo; did you mean 'message'?",
        ),
        (
            "unknown task type names the type",
            format!("{HEAD}tasks:\n  - id: a\n    type: test.Echoo\n"),
            "5:11: tasks[0].type: unknown task type 'test.Echoo'; did you mean 'test.Echo'?",
        ),
        (
            "wrong type, coercion, expression",
            format!(
                "{HEAD}tasks:\n  - id: a\n    type: test.Echo\n    message: 12\n    times: many\n  - id: b\n    type: test.Echo\n    message: x\n    times: \"3\"\n  - id: c\n    type: test.Echo\n    message: x\n    times: \"{{{{ inputs.n }}}}\"\n"
            ),
            "7:12: tasks[0].times: expected an integer, found a string ('many')",
        ),
        (
            "every problem at once",
            "id: 'bad id'\nnamespace: Company\ntasks:\n  - id: a\n    type: test.Echo\n    message: x\n    timeout: 15 minutes\n  - id: a\n    type: io.kestra.plugin.core.flow.Sequential\n    tasks: []\n".to_string(),
            "1:5: id: 'bad id' is not a valid id: it must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$
             2:12: namespace: 'Company' is not a valid id: it must match ^[a-z0-9][a-z0-9._-]*$
             7:14: tasks[0].timeout: invalid ISO-8601 duration '15 minutes' (expected a form like PT15M, PT1H30M, P1D or PT0.5S)
             8:9: tasks[1].id: Duplicate task id with name [a] (first defined at line 4)
             10:12: tasks[1].tasks: must not be empty",
        ),
        (
            "a task must be a mapping",
            format!("{HEAD}tasks:\n  - just a string\n"),
            "4:5: tasks[0]: a task must be a mapping, found a string ('just a string')",
        ),
        (
            "enum values are listed",
            format!("{HEAD}concurrency:\n  limit: 0\n  behavior: WAIT\ntasks:\n  - id: a\n    type: test.Echo\n    message: x\n"),
            "4:10: concurrency.limit: must be greater than or equal to 1
             5:13: concurrency.behavior: invalid value WAIT: must be one of QUEUE, CANCEL, FAIL",
        ),
        (
            "retry needs a known type",
            format!("{HEAD}tasks:\n  - id: a\n    type: test.Echo\n    message: x\n    retry:\n      type: linear\n      maxAttempt: 3\n"),
            "8:13: tasks[0].retry.type: unknown retry type 'linear'",
        ),
        (
            "retry properties are checked",
            format!("{HEAD}retry:\n  type: constant\n  maxAttempt: 2\n  behavior: CREATE_NEW_EXECUTION\ntasks:\n  - id: a\n    type: test.Echo\n    message: x\n"),
            "4:3: retry.interval: missing required property 'interval'",
        ),
        (
            "input defaults are checked against the type",
            format!("{HEAD}inputs:\n  - id: n\n    type: INT\n    defaults: abc\n  - id: d\n    type: DATETIME\n    defaults: yesterday\n  - id: s\n    type: SELECT\n    values: [a, b]\n    defaults: c\ntasks:\n  - id: a\n    type: test.Echo\n    message: x\n"),
            "6:15: inputs[0].defaults: invalid defaults for input of type INT: expected an integer
             9:15: inputs[1].defaults: invalid defaults for input of type DATETIME: 'yesterday' is not an ISO-8601 date-time such as 2024-01-31T10:00:00Z
             13:15: inputs[2].defaults: invalid defaults for input of type SELECT: 'c' is not one of a, b",
        ),
        (
            "labels as a list",
            format!("{HEAD}labels:\n  - key: team\n    value: data\ntasks:\n  - id: a\n    type: test.Echo\n    message: x\n"),
            "",
        ),
        (
            "the flow must be a mapping",
            "- id: x\n".to_string(),
            "1:1: <root>: a flow must be a mapping with at least id, namespace and tasks, found a list",
        ),
        (
            "switch cases hold tasks",
            format!("{HEAD}tasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Switch\n    value: '{{{{ inputs.x }}}}'\n    cases:\n      A:\n        - id: a\n          type: test.Nope\n"),
            "10:17: tasks[0].cases.A[0].type: unknown task type 'test.Nope'",
        ),
        (
            "unknown trigger type and cron shape",
            format!("{HEAD}tasks:\n  - id: a\n    type: test.Echo\n    message: x\ntriggers:\n  - id: t\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* * *'\n  - id: u\n    type: Cron\n"),
            "10:11: triggers[0].cron: invalid cron expression '* * *': expected 5 fields, found 3
             12:11: triggers[1].type: unknown trigger type 'Cron'",
        ),
    ];
    let mut failures = Vec::new();
    for (name, source, expected) in cases {
        check(name, source, expected, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn typed_flow_is_read_with_coerced_values() {
    let registry = registry();
    let source = format!(
        "{HEAD}labels:\n  team: data\n  tier: 1\ntasks:\n  - id: loop\n    type: io.kestra.core.tasks.flows.ForEach\n    values: [1, 2]\n    concurrencyLimit: '3'\n    tasks:\n      - id: a\n        type: test.Echo\n        message: 42\n"
    );
    let report = Validator::new(&registry).validate_one(&source);
    let flow = report.flow.expect("valid flow");
    assert_eq!(flow.labels.0[1].value, "1");
    let task = &flow.tasks[0];
    assert_eq!(task.common.type_name, "io.kestra.plugin.core.flow.ForEach");
    let spec: peregrine_model::tasks::ForEachSpec = task.spec().expect("spec");
    assert_eq!(spec.concurrency_limit, 3);
    assert_eq!(spec.tasks[0].properties["message"], "42");
}

#[test]
fn multi_document_sources_give_one_report_per_flow() {
    let registry = registry();
    let source = format!(
        "{HEAD}tasks:\n  - id: a\n    type: test.Echo\n    message: x\n---\nid: other\nnamespace: n\ntasks: []\n"
    );
    let reports = Validator::new(&registry).validate_source(&source);
    assert_eq!(reports.len(), 2);
    assert!(reports[0].is_valid());
    let lines: Vec<String> = reports[1]
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(lines, ["10:8: tasks: must not be empty"]);
}
