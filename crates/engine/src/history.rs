//! Which results of other task runs a task's templates read (`outputs.<id>`, `tasks.<id>`), so
//! its expression context carries only those: a step then costs the same in an execution of
//! 10,000 task runs as in one of ten.

use peregrine_model::Property;
use peregrine_model::flow::Task;
use serde_json::Value;

/// What of the execution's history (the `outputs` and `tasks` variables) a task may read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum History {
    /// Nothing: both are left empty.
    #[default]
    Nothing,
    /// The entries of these task ids only.
    Tasks(Vec<TaskRef>),
    /// Everything: a template reads the whole context, or a reference the engine cannot narrow.
    All,
}

/// A task id whose results a template reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRef {
    pub task_id: String,
    /// Every read of its outputs is `outputs.<id>[taskrun.value]` (or the parent's value): only
    /// that entry is needed.
    pub only: Option<LoopKey>,
}

/// The loop value an `outputs.<id>[...]` read is keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKey {
    /// `taskrun.value`
    Own,
    /// `parent.taskrun.value`
    Parent,
}

/// Functions and variables that read the whole context.
const WHOLE_CONTEXT: [&str; 3] = ["printContext", "fetchContext", "render"];

/// What `task` reads; everything when the flow's variables read history themselves.
pub fn history_of(task: &Task, flow_variables_read_history: bool) -> History {
    if flow_variables_read_history {
        return History::All;
    }
    let mut scan = Scan::default();
    match &task.common.run_if {
        Some(Property::Expression(template) | Property::Value(template)) => scan.template(template),
        None => {}
    }
    for (key, value) in &task.properties {
        scan.template(key);
        scan.value(value);
    }
    scan.finish()
}

/// Whether the flow's `variables` read history (they may be rendered by any task).
pub fn variables_read_history(variables: Option<&serde_json::Map<String, Value>>) -> bool {
    let Some(variables) = variables else {
        return false;
    };
    let mut scan = Scan::default();
    for (key, value) in variables {
        scan.template(key);
        scan.value(value);
    }
    scan.finish() != History::Nothing
}

#[derive(Default)]
struct Scan {
    all: bool,
    refs: Vec<TaskRef>,
}

impl Scan {
    fn value(&mut self, value: &Value) {
        match value {
            Value::String(text) => self.template(text),
            Value::Array(items) => items.iter().for_each(|item| self.value(item)),
            Value::Object(map) => {
                for (key, item) in map {
                    self.template(key);
                    self.value(item);
                }
            }
            _ => {}
        }
    }

    /// Reads the expressions of a template (`{{ }}` and `{% %}`).
    fn template(&mut self, text: &str) {
        let mut rest = text;
        while let Some(start) = rest.find(['{']) {
            let after = &rest[start + 1..];
            let close = match after.chars().next() {
                Some('{') => "}}",
                Some('%') => "%}",
                _ => {
                    rest = after;
                    continue;
                }
            };
            let body = &after[1..];
            let end = body.find(close).unwrap_or(body.len());
            self.expression(&body[..end]);
            rest = &body[end..];
        }
    }

    fn expression(&mut self, expression: &str) {
        if WHOLE_CONTEXT.iter().any(|word| expression.contains(word)) {
            self.all = true;
            return;
        }
        for variable in ["outputs", "tasks"] {
            let mut from = 0;
            while let Some(found) = expression[from..].find(variable) {
                let start = from + found;
                let end = start + variable.len();
                from = end;
                let before = expression[..start].chars().next_back();
                let after = expression[end..].chars().next();
                let part_of_word =
                    |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if part_of_word(before) || part_of_word(after) || before == Some('.') {
                    // Another name, or a member of another variable (`parent.outputs`).
                    continue;
                }
                match task_id_after(&expression[end..]) {
                    Some((task_id, rest)) => {
                        let only = if variable == "outputs" {
                            loop_key(rest)
                        } else {
                            None
                        };
                        self.add(task_id, only);
                    }
                    None => self.all = true,
                }
            }
        }
    }

    fn add(&mut self, task_id: &str, only: Option<LoopKey>) {
        match self.refs.iter_mut().find(|found| found.task_id == task_id) {
            Some(found) if found.only != only => found.only = None,
            Some(_) => {}
            None => self.refs.push(TaskRef {
                task_id: task_id.to_string(),
                only,
            }),
        }
    }

    fn finish(self) -> History {
        if self.all {
            History::All
        } else if self.refs.is_empty() {
            History::Nothing
        } else {
            History::Tasks(self.refs)
        }
    }
}

/// `.id` or `['id']` / `["id"]` at the start of `text`: the id, and what follows it.
fn task_id_after(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('.') {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        return (end > 0).then(|| (&rest[..end], &rest[end..]));
    }
    let rest = text.strip_prefix('[')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    let end = inner.find(quote)?;
    let after = inner[end + 1..].trim_start().strip_prefix(']')?;
    Some((&inner[..end], after))
}

/// `[taskrun.value]` or `[parent.taskrun.value]` at the start of `text`.
fn loop_key(text: &str) -> Option<LoopKey> {
    let inner = text.trim_start().strip_prefix('[')?;
    let end = inner.find(']')?;
    match inner[..end].trim() {
        "taskrun.value" => Some(LoopKey::Own),
        "parent.taskrun.value" => Some(LoopKey::Parent),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(template: &str) -> History {
        let mut scan = Scan::default();
        scan.template(template);
        scan.finish()
    }

    fn tasks(refs: &[(&str, Option<LoopKey>)]) -> History {
        History::Tasks(
            refs.iter()
                .map(|(task_id, only)| TaskRef {
                    task_id: task_id.to_string(),
                    only: *only,
                })
                .collect(),
        )
    }

    #[test]
    fn references_are_narrowed_to_task_ids_and_loop_values() {
        assert_eq!(scan("{{ taskrun.value }} outputs"), History::Nothing);
        assert_eq!(scan("{{ outputs.a.value }}"), tasks(&[("a", None)]));
        assert_eq!(
            scan("{{ outputs['my-task'].uri }} {% if tasks.b.state %}{% endif %}"),
            tasks(&[("my-task", None), ("b", None)])
        );
        assert_eq!(
            scan("{{ outputs.a[taskrun.value].value }}"),
            tasks(&[("a", Some(LoopKey::Own))])
        );
        assert_eq!(
            scan("{{ outputs.a[parent.taskrun.value].value ~ outputs.a['x'] }}"),
            tasks(&[("a", None)])
        );
        assert_eq!(scan("{{ parent.outputs.value }}"), History::Nothing);
        assert_eq!(scan("{{ outputs }}"), History::All);
        assert_eq!(scan("{{ outputs[name] }}"), History::All);
        assert_eq!(scan("{{ printContext() }}"), History::All);
        assert_eq!(scan("{{ render(vars.x) }}"), History::All);
    }
}
