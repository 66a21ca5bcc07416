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
    pub expect: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    pub namespace: String,
    pub id: String,
    pub related: Vec<String>,
    pub cases: Vec<Case>,
}

/// The core-only flows with verified expectations.
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
        let core = entry["core_only"].as_bool() == Some(true);
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
        entries.push(Entry {
            file: entry["file"].as_str().unwrap_or_default().to_string(),
            namespace: entry["namespace"].as_str().unwrap_or_default().to_string(),
            id: entry["id"].as_str().unwrap_or_default().to_string(),
            related: strings(&entry["related_flows"]),
            cases,
        });
    }
    Ok(entries)
}
