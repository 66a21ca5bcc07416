//! Kestra's own test flows (../shared/compat/kestra): every valid core-only flow must validate,
//! every other valid flow must fail only on the test-only types it names, and every invalid flow
//! must be rejected with a message naming the field or rule Kestra's tests expect.

use std::path::{Path, PathBuf};

use peregrine_model::{Diagnostic, Validator};

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/kestra");
    root.join("expectations.yaml").exists().then_some(root)
}

/// The entries of expectations.yaml we need, read with our own YAML loader.
struct Expectation {
    file: String,
    core_only: Option<bool>,
    non_core_types: Vec<String>,
}

fn expectations(root: &Path) -> Vec<Expectation> {
    let text = std::fs::read_to_string(root.join("expectations.yaml")).expect("expectations.yaml");
    let document = peregrine_model::yaml::load_document(&text).expect("expectations parse");
    let json = document.root.to_json();
    json.as_array()
        .expect("a list")
        .iter()
        .map(|entry| Expectation {
            file: entry["file"].as_str().unwrap_or_default().to_string(),
            core_only: entry["core_only"].as_bool(),
            non_core_types: entry["non_core_types"]
                .as_object()
                .map(|types| types.keys().cloned().collect())
                .unwrap_or_default(),
        })
        .collect()
}

fn validate(path: &Path) -> Vec<Diagnostic> {
    let registry = peregrine_node::catalogue();
    let source = std::fs::read_to_string(path).expect("flow file");
    let report = Validator::new(&registry).validate_one(&source);
    report.diagnostics
}

/// For each invalid flow, texts that must all appear in its diagnostics.
const INVALID: &[(&str, &[&str])] = &[
    (
        "dag-cyclicdependency.yaml",
        &["Cyclic dependency detected: task1, task2"],
    ),
    (
        "dag-notexist-task.yaml",
        &["Not existing task id in dependency: taskX"],
    ),
    (
        "duplicate-inputs.yaml",
        &["Duplicate input with name [first_input]"],
    ),
    ("duplicate-key.yaml", &["Duplicate field 'variables.tf'"]),
    (
        "duplicate-parallel.yaml",
        &["Duplicate task id with name [t3]"],
    ),
    (
        "duplicate.yaml",
        &[
            "Duplicate task id with name [date]",
            "Duplicate task id with name [listen]",
            "Duplicate trigger id with name [trigger]",
        ],
    ),
    ("empty.yaml", &["tasks", "must not be empty"]),
    ("inputs-bad-type.yaml", &["unknown input type 'FOO'"]),
    (
        "inputs-bad-validator-syntax.yaml",
        &["invalid pattern [\\]"],
    ),
    (
        "inputs-validation.yaml",
        &[
            "no `defaults` can be set for inputs of type 'FILE'",
            "`itemType` cannot be `ARRAY`",
        ],
    ),
    ("inputs.yaml", &["missing required property 'type'"]),
    (
        "invalid-parallel.yaml",
        &[
            "id: must not be empty",
            "namespace: must not be empty",
            "tasks: missing required property 'tasks'",
            "tasks: must not be empty",
        ],
    ),
    (
        "invalid-property.yaml",
        &["tasks[0].invalid: unknown property 'invalid'"],
    ),
    (
        "invalid-task.yaml",
        &[
            "unknown task type 'io.kestra.plugin.core.debug.MissingOne'",
            "unknown task type 'io.kestra.plugin.core.debug.MissingTwo'",
            "unknown task type 'io.kestra.plugin.core.debug.MissingThree'",
        ],
    ),
    (
        "invalid.yaml",
        &[
            "'my#flow' is not a valid id",
            "'MY$NAMESPACE' is not a valid id",
            "missing required property 'id'",
        ],
    ),
    (
        "listener.yaml",
        &[
            "listeners[0].tasks: must not be empty",
            "listeners[1].tasks: must not be empty",
        ],
    ),
    (
        "recursive-flow.yaml",
        &["Recursive call to flow [io.kestra.tests.recursive-flow]"],
    ),
    (
        "switch-invalid.yaml",
        &["impossible: No task defined, neither cases or default have any tasks"],
    ),
    (
        "system-labels.yaml",
        &[
            "System labels can only be set by Kestra itself, offending label: system.label=system_key",
            "offending label: system.id=id",
        ],
    ),
    (
        "worker-group.yaml",
        &["tasks[0].workerGroup: Worker Group is an Enterprise Edition functionality"],
    ),
    (
        "workingdirectory-invalid.yaml",
        &["impossible: Only runnable tasks are allowed as children of a WorkingDirectory task"],
    ),
    (
        "workingdirectory-no-tasks.yaml",
        &["impossible: The 'tasks' property cannot be empty"],
    ),
];

#[test]
fn kestra_test_flows_validate_as_kestra_says() {
    let Some(root) = corpus() else {
        eprintln!("compat: ../shared/compat/kestra is absent, skipping");
        return;
    };
    let mut failures = Vec::new();
    let (mut core_ok, mut core_total, mut test_only_ok, mut test_only_total) = (0, 0, 0, 0);
    for expectation in expectations(&root) {
        let valid_path = root.join("flows/valids").join(&expectation.file);
        let Some(core_only) = expectation.core_only else {
            continue;
        };
        let diagnostics = validate(&valid_path);
        let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        if core_only {
            core_total += 1;
            if diagnostics.is_empty() {
                core_ok += 1;
            } else {
                failures.push(format!(
                    "valid {}:\n  {}",
                    expectation.file,
                    shown.join("\n  ")
                ));
            }
        } else {
            test_only_total += 1;
            let only_unknown_types = !diagnostics.is_empty()
                && diagnostics.iter().all(|diagnostic| {
                    diagnostic.code == peregrine_model::Code::UnknownType
                        && expectation
                            .non_core_types
                            .iter()
                            .any(|name| diagnostic.message.contains(name.as_str()))
                });
            if only_unknown_types {
                test_only_ok += 1;
            } else {
                failures.push(format!(
                    "test-only {}:\n  {}",
                    expectation.file,
                    shown.join("\n  ")
                ));
            }
        }
    }
    let mut invalid_ok = 0;
    for (file, expected) in INVALID {
        let diagnostics = validate(&root.join("flows/invalids").join(file));
        let shown: Vec<String> = diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        let all = shown.join("\n");
        let missing: Vec<&&str> = expected
            .iter()
            .filter(|text| !all.contains(**text))
            .collect();
        if diagnostics.is_empty() || !missing.is_empty() {
            failures.push(format!(
                "invalid {file}: missing {missing:?} in:\n  {}",
                shown.join("\n  ")
            ));
        } else {
            invalid_ok += 1;
        }
    }
    println!(
        "compat validation: core-only valid {core_ok}/{core_total}, test-only types {test_only_ok}/{test_only_total}, invalid rejected {invalid_ok}/{}",
        INVALID.len()
    );
    assert!(
        failures.is_empty(),
        "{} flows misjudged:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
