//! Id rules: the shape of flow, namespace, task and trigger ids, and duplicates.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::{Code, Diagnostics};
use crate::path::{Segment, YamlPath};
use crate::registry::Kind;
use crate::schema::Site;
use crate::yaml::{Node, Pos};

static FLOW_ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$").ok());
static NAMESPACE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9._-]*$").ok());
static TASK_ID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$").ok());

pub(super) fn check(root: &Node, sites: &[Site], diagnostics: &mut Diagnostics) {
    check_shape(root, "id", &FLOW_ID, 100, diagnostics);
    check_shape(root, "namespace", &NAMESPACE, 150, diagnostics);
    for site in sites
        .iter()
        .filter(|site| matches!(site.kind, Kind::Task | Kind::Trigger))
    {
        if let Some((id, pos)) = &site.id {
            check_id(id, *pos, &site.path.key("id"), &TASK_ID, 100, diagnostics);
        }
    }
    let tasks = sites.iter().filter(|site| site.kind == Kind::Task);
    report_duplicates(tasks, "task id", diagnostics);
    let triggers = sites.iter().filter(|site| site.kind == Kind::Trigger);
    report_duplicates(triggers, "trigger id", diagnostics);
    let inputs = sites
        .iter()
        .filter(|site| site.kind == Kind::Input && is_flow_input(&site.path));
    report_duplicates(inputs, "input", diagnostics);
    check_outputs(root, diagnostics);
}

fn is_flow_input(path: &YamlPath) -> bool {
    matches!(path.segments(), [Segment::Key(key), Segment::Index(_)] if key == "inputs")
}

fn check_shape(
    root: &Node,
    key: &str,
    pattern: &LazyLock<Option<Regex>>,
    max: usize,
    diagnostics: &mut Diagnostics,
) {
    if let Some(node) = root.get(key)
        && let Some(text) = node.scalar_text()
    {
        check_id(
            &text,
            node.span.start,
            &YamlPath::root().key(key),
            pattern,
            max,
            diagnostics,
        );
    }
}

fn check_id(
    id: &str,
    pos: Pos,
    path: &YamlPath,
    pattern: &LazyLock<Option<Regex>>,
    max: usize,
    diagnostics: &mut Diagnostics,
) {
    let message = if id.is_empty() {
        "must not be empty".to_string()
    } else if id.chars().count() > max {
        format!("'{id}' is too long: at most {max} characters")
    } else if pattern.as_ref().is_some_and(|regex| !regex.is_match(id)) {
        let rule = pattern.as_ref().map(Regex::as_str).unwrap_or_default();
        format!("'{id}' is not a valid id: it must match {rule}")
    } else {
        return;
    };
    diagnostics.push(Code::InvalidId, pos, path, message);
}

fn report_duplicates<'a>(
    sites: impl Iterator<Item = &'a Site>,
    what: &str,
    diagnostics: &mut Diagnostics,
) {
    let mut first_seen: HashMap<&str, Pos> = HashMap::new();
    for site in sites {
        let Some((id, pos)) = &site.id else { continue };
        match first_seen.get(id.as_str()) {
            Some(first) => {
                let message = format!(
                    "Duplicate {what} with name [{id}] (first defined at line {})",
                    first.line
                );
                diagnostics.push(Code::DuplicateId, *pos, &site.path.key("id"), message);
            }
            None => {
                first_seen.insert(id, *pos);
            }
        }
    }
}

fn check_outputs(root: &Node, diagnostics: &mut Diagnostics) {
    let outputs = root.get("outputs").and_then(Node::as_seq).unwrap_or(&[]);
    let mut first_seen: HashMap<String, Pos> = HashMap::new();
    for (index, output) in outputs.iter().enumerate() {
        let Some(id_node) = output.get("id") else {
            continue;
        };
        let Some(id) = id_node.scalar_text() else {
            continue;
        };
        let path = YamlPath::root().key("outputs").index(index).key("id");
        if let Some(first) = first_seen.get(&id) {
            let message = format!(
                "Duplicate output with name [{id}] (first defined at line {})",
                first.line
            );
            diagnostics.push(Code::DuplicateId, id_node.span.start, &path, message);
        } else {
            first_seen.insert(id, id_node.span.start);
        }
    }
}
