//! Data Kestra's tests put in place before a run: the key-value entry KvFunctionTest writes
//! (its store is emptied before each test, then the entry the case names is written), and the
//! namespace files a test stores before it runs its flow.

use peregrine_ports::kv::{KvPut, KvStore, KvValue};
use peregrine_ports::storage::{Storage, namespace_files_prefix};
use serde_json::Value;

use crate::expectations::{Case, Entry};

/// The key-value entry an entry's scenario needs, as its `requires` says:
/// `pre-seeded KV entry <key> in namespace <namespace>`.
fn seeded_key(entry: &Entry) -> Option<(String, String)> {
    let pattern = regex::Regex::new(r"pre-seeded KV entry (\S+) in namespace (\S+)").ok()?;
    entry.requires.iter().find_map(|requirement| {
        let captures = pattern.captures(requirement)?;
        Some((captures[2].to_string(), captures[1].to_string()))
    })
}

/// The value a case's notes give the key: `... holds key 'my-key' = {"field": "value"} ...`.
fn seeded_value(case: &Case, key: &str) -> Option<Value> {
    let notes = case.notes();
    let marker = format!("holds key '{key}' = ");
    let start = notes.find(&marker)? + marker.len();
    let rest = &notes[start..];
    let mut depth = 0;
    for (index, character) in rest.char_indices() {
        match character {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return serde_json::from_str(&rest[..=index]).ok();
                }
            }
            _ => {}
        }
    }
    None
}

/// Empties the namespace's store and writes the case's entry, for scenarios that need one.
pub async fn seed_kv(kv: &dyn KvStore, entry: &Entry, case: &Case) -> Result<(), String> {
    let Some((namespace, key)) = seeded_key(entry) else {
        return Ok(());
    };
    let now = jiff::Timestamp::now();
    let existing = kv
        .list(&namespace, None, now)
        .await
        .map_err(|error| error.to_string())?;
    for stored in existing {
        kv.delete(&namespace, &stored.key)
            .await
            .map_err(|error| error.to_string())?;
    }
    if let Some(value) = seeded_value(case, &key) {
        kv.set(&namespace, &key, KvPut::new(KvValue::guess(value)), now)
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// The namespace files a case's notes list, for entries that require `pre-seeded namespace
/// files`: `... namespace files of <namespace>: /a.txt='first', /b/c.txt='second' ...`.
fn seeded_files(entry: &Entry, case: &Case) -> Option<(String, Vec<(String, String)>)> {
    if !entry
        .requires
        .iter()
        .any(|requirement| requirement == "pre-seeded namespace files")
    {
        return None;
    }
    let notes = case.notes();
    let namespace = regex::Regex::new(r"namespace files of ([\w.-]+):")
        .ok()?
        .captures(notes)?[1]
        .to_string();
    let file = regex::Regex::new(r"(/[^\s=',]+)='([^']*)'").ok()?;
    let files = file
        .captures_iter(notes)
        .map(|captures| (captures[1].to_string(), captures[2].to_string()))
        .collect();
    Some((namespace, files))
}

/// Stores the namespace files the case's notes list, for scenarios that need them.
pub async fn seed_namespace_files(
    storage: &dyn Storage,
    entry: &Entry,
    case: &Case,
) -> Result<(), String> {
    let Some((namespace, files)) = seeded_files(entry, case) else {
        return Ok(());
    };
    let prefix = namespace_files_prefix(&namespace).map_err(|error| error.to_string())?;
    for (path, content) in files {
        let path = prefix.join(&path).map_err(|error| error.to_string())?;
        storage
            .put(&path, content.into_bytes())
            .await
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}
