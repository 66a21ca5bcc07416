//! The internal-storage files an execution refers to, read once it has run so that checks on
//! their content (`file_content`, `single_file_content`) stay plain comparisons.

use std::collections::HashMap;

use peregrine_model::execution::Execution;
use peregrine_ports::storage::{Storage, StoragePath};
use serde_json::Value;

/// File contents by `kestra:///` URI.
pub type Files = HashMap<String, Vec<u8>>;

/// Every file a `kestra:` URI in the execution (inputs, outputs, task run outputs) points to.
pub async fn referenced(storage: &dyn Storage, execution: &Execution) -> Files {
    let mut uris = Vec::new();
    if let Ok(value) = serde_json::to_value(execution) {
        collect(&value, &mut uris);
    }
    let mut files = Files::new();
    for uri in uris {
        if files.contains_key(&uri) {
            continue;
        }
        let Ok(path) = StoragePath::from_uri(&uri) else {
            continue;
        };
        if let Ok(bytes) = storage.get(&path).await {
            files.insert(uri, bytes);
        }
    }
    files
}

fn collect(value: &Value, uris: &mut Vec<String>) {
    match value {
        Value::String(text) if text.starts_with("kestra:/") => uris.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect(item, uris)),
        Value::Object(map) => map.values().for_each(|item| collect(item, uris)),
        _ => {}
    }
}
