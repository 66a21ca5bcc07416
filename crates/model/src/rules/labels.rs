//! Labels starting with `system.` are set by the server only.

use crate::diagnostic::{Code, Diagnostics};
use crate::path::YamlPath;
use crate::yaml::{Node, NodeValue};

const SYSTEM_PREFIX: &str = "system.";
/// The one system label a flow may set itself: it marks the flow read-only in the UI.
const USER_SETTABLE: &[&str] = &["system.readOnly"];

pub(super) fn check(root: &Node, diagnostics: &mut Diagnostics) {
    let Some(labels) = root.entry("labels") else {
        return;
    };
    let path = YamlPath::root().key("labels");
    let mut report = |key: &str, value: &Node, pos| {
        if key.starts_with(SYSTEM_PREFIX) && !USER_SETTABLE.contains(&key) {
            let value = value.scalar_text().unwrap_or_default();
            let message = format!(
                "System labels can only be set by Kestra itself, offending label: {key}={value}"
            );
            diagnostics.push(Code::ReservedLabel, pos, &path.key(key), message);
        }
    };
    match &labels.value.value {
        NodeValue::Map(entries) => {
            for entry in entries {
                report(&entry.key, &entry.value, entry.key_span.start);
            }
        }
        NodeValue::Seq(items) => {
            for item in items {
                if let (Some(key), Some(value)) =
                    (item.get("key").and_then(Node::as_str), item.get("value"))
                {
                    report(key, value, item.span.start);
                }
            }
        }
        _ => {}
    }
}
