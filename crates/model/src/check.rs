//! What a type-specific rule sees: the raw node of one object, its path and the catalogue.

use crate::diagnostic::{Code, Diagnostics};
use crate::path::YamlPath;
use crate::registry::{Kind, Registry, Role};
use crate::yaml::{Node, NodeValue, Pos};

/// The flow a rule runs in, for rules such as "a subflow must not call its own flow".
#[derive(Clone, Debug, Default)]
pub struct FlowIdentity {
    pub namespace: Option<String>,
    pub id: Option<String>,
}

/// Handed to [`crate::registry::PluginSpec::check`] for each object of that type.
pub struct CheckContext<'a> {
    pub node: &'a Node,
    pub path: &'a YamlPath,
    pub registry: &'a Registry,
    pub flow: &'a FlowIdentity,
    pub(crate) diagnostics: &'a mut Diagnostics,
}

impl CheckContext<'_> {
    /// Reports a problem at `pos`, under this object's path extended by `key` (if any).
    pub fn report(&mut self, code: Code, pos: Pos, key: Option<&str>, message: impl Into<String>) {
        let path = match key {
            Some(key) => self.path.key(key),
            None => self.path.clone(),
        };
        self.diagnostics.push(code, pos, &path, message);
    }

    /// The position of a property's value, or of the object when the property is absent.
    pub fn pos_of(&self, key: &str) -> Pos {
        self.node
            .get(key)
            .map_or(self.node.span.start, |value| value.span.start)
    }

    /// The tasks listed under `key` (absent or null gives none).
    pub fn task_list(&self, key: &str) -> &[Node] {
        self.node.get(key).and_then(Node::as_seq).unwrap_or(&[])
    }

    /// How the engine runs a task node, when its type is known.
    pub fn role_of(&self, task: &Node) -> Option<Role> {
        let name = task.get("type")?.as_str()?;
        Some(self.registry.lookup(Kind::Task, name)?.role)
    }

    /// True when `key` is absent, null, or an empty list/mapping.
    pub fn is_empty(&self, key: &str) -> bool {
        match self.node.get(key).map(|node| &node.value) {
            None | Some(NodeValue::Null) => true,
            Some(NodeValue::Seq(items)) => items.is_empty(),
            Some(NodeValue::Map(entries)) => entries.is_empty(),
            Some(_) => false,
        }
    }
}

/// Levenshtein distance, for "did you mean" hints on short names.
pub fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_char) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(super::edit_distance("format", "fromat"), 2);
        assert_eq!(super::edit_distance("message", "message"), 0);
        assert_eq!(super::edit_distance("", "abc"), 3);
    }
}
