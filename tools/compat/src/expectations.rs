//! The entries of the corpus's expectations.yaml this runner uses.

use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value};

/// One scenario: inputs, an optional follow-up action, and what Kestra's tests assert.
#[derive(Debug, Clone)]
pub struct Case {
    pub inputs: Map<String, Value>,
    pub action: Option<String>,
    /// Inputs go straight into the execution, unchecked (Kestra's `raw` mode or no inputs).
    pub raw_inputs: bool,
    /// Labels the test gives the execution when it creates it (read from the notes).
    pub labels: Vec<(String, String)>,
    /// The inputs are set by a parent execution (ForEachItem, Subflow), not by the test.
    pub from_parent: bool,
    pub expect: Map<String, Value>,
}

impl Case {
    /// The case's notes, empty when there are none.
    pub fn notes(&self) -> &str {
        self.expect
            .get("notes")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// What the case checks holds only on a backend other than the in-memory one (the JDBC
    /// queue's message limit).
    pub fn other_backend_only(&self) -> bool {
        self.notes().starts_with("JDBC backend only")
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    pub namespace: String,
    pub id: String,
    pub related: Vec<String>,
    /// What the scenario needs beyond a plain engine, in words.
    pub requires: Vec<String>,
    pub cases: Vec<Case>,
}

/// The flows with verified expectations that this runner can run: core-only ones, and those whose
/// other types are all test-only types it provides (`test_tasks`).
pub fn load(root: &Path) -> anyhow::Result<Vec<Entry>> {
    let path = root.join("expectations.yaml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let document =
        peregrine_model::yaml::load_document(&text).map_err(|error| anyhow::anyhow!("{error}"))?;
    let json = document.root.to_json();
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut entries = Vec::new();
    for entry in json.as_array().into_iter().flatten() {
        let core = entry["core_only"].as_bool() == Some(true)
            || entry["non_core_types"].as_object().is_some_and(|types| {
                !types.is_empty() && types.keys().all(|name| crate::test_tasks::provides(name))
            });
        let verified = entry["verified"].as_bool() == Some(true);
        if !core || !verified {
            continue;
        }
        let mut cases = Vec::new();
        let entry_mode = entry["inputs_mode"].as_str().map(str::to_string);
        let mut push = |case: &Value| {
            if let Some(expect) = case["expect"].as_object() {
                let mode = case["inputs_mode"]
                    .as_str()
                    .map(str::to_string)
                    .or(entry_mode.clone());
                cases.push(Case {
                    raw_inputs: case["inputs"].is_null() || mode.as_deref() == Some("raw"),
                    labels: creation_labels(
                        expect
                            .get("notes")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                    ),
                    from_parent: mode.as_deref() == Some("from-parent"),
                    inputs: case["inputs"].as_object().cloned().unwrap_or_default(),
                    action: case["action"].as_str().map(str::to_string),
                    expect: expect.clone(),
                });
            }
        };
        push(entry);
        for more in entry["more_cases"].as_array().into_iter().flatten() {
            push(more);
        }
        // The creation labels are set up once per test class: later cases keep the first one's.
        let first_labels = cases
            .first()
            .map(|case| case.labels.clone())
            .unwrap_or_default();
        for case in &mut cases {
            if case.labels.is_empty() {
                case.labels = first_labels.clone();
            }
        }
        entries.push(Entry {
            file: entry["file"].as_str().unwrap_or_default().to_string(),
            namespace: entry["namespace"].as_str().unwrap_or_default().to_string(),
            id: entry["id"].as_str().unwrap_or_default().to_string(),
            related: strings(&entry["related_flows"]),
            requires: strings(&entry["requires"]),
            cases,
        });
    }
    Ok(entries)
}

/// Labels given at creation, as the notes put them: "created with label(s) k=v and k2=v2".
fn creation_labels(notes: &str) -> Vec<(String, String)> {
    let Some(start) = notes.find("created with label") else {
        return Vec::new();
    };
    let rest = &notes[start..];
    let rest = rest.split_once(' ').map_or(rest, |(_, after)| after); // "with label..."
    let rest = rest
        .trim_start_matches("with ")
        .trim_start_matches("labels ")
        .trim_start_matches("label ");
    let end = rest.find(['.', ';']).unwrap_or(rest.len());
    rest[..end]
        .split(" and ")
        .flat_map(|part| part.split(", "))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_creation_labels_from_notes() {
        let labels =
            super::creation_labels("The execution is also created with labels a=b and c=d; more");
        assert_eq!(
            labels,
            vec![("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        let labels = super::creation_labels(
            "Typed inputs, and the execution is created with label existingLabel=someValue.",
        );
        assert_eq!(labels, vec![("existingLabel".into(), "someValue".into())]);
    }
}
