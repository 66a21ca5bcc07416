//! Dag: tasks that start once the tasks they depend on have ended.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::flowable;
use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::flow::Task;
use crate::property::Property;
use crate::yaml::Node;

/// One task of a Dag and the ids it waits for.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DagTask {
    pub task: Task,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

/// Runs tasks as soon as their dependencies have ended, `concurrent` at a time (0: no limit).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct DagSpec {
    #[schemars(length(min = 1))]
    pub tasks: Vec<DagTask>,
    #[serde(default)]
    pub concurrent: Option<Property<u32>>,
    #[serde(default)]
    pub errors: Vec<Task>,
    #[serde(default, rename = "finally")]
    pub finally_tasks: Vec<Task>,
}
flowable!(DagSpec, "Dag"; check = check_dag);

fn check_dag(context: &mut CheckContext<'_>) {
    let entries = context.task_list("tasks");
    let ids: Vec<Option<String>> = entries
        .iter()
        .map(|entry| entry.get("task")?.get("id")?.scalar_text())
        .collect();
    let known: HashSet<&str> = ids.iter().flatten().map(String::as_str).collect();
    let mut edges: HashMap<String, Vec<String>> = HashMap::new();
    let mut reports = Vec::new();
    for (entry, id) in entries.iter().zip(&ids) {
        let dependencies = entry.get("dependsOn").and_then(Node::as_seq).unwrap_or(&[]);
        for dependency in dependencies {
            let Some(name) = dependency.scalar_text() else {
                continue;
            };
            if known.contains(name.as_str()) {
                if let Some(id) = id {
                    edges.entry(id.clone()).or_default().push(name);
                }
            } else {
                reports.push((
                    dependency.span.start,
                    format!("Not existing task id in dependency: {name}"),
                ));
            }
        }
    }
    for (pos, message) in reports {
        context.report(Code::DagDependency, pos, Some("tasks"), message);
    }
    if let Some(cycle) = find_cycle(&ids, &edges) {
        let pos = context.node.span.start;
        let message = format!("Cyclic dependency detected: {}", cycle.join(", "));
        context.report(Code::DagDependency, pos, Some("tasks"), message);
    }
}

/// The ids on the first cycle found, in task order, or None.
fn find_cycle(ids: &[Option<String>], edges: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        node: &str,
        edges: &HashMap<String, Vec<String>>,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|id| id == node).unwrap_or(0);
                return Some(stack[start..].to_vec());
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Visiting);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    for id in ids.iter().flatten() {
        let mut stack = Vec::new();
        if let Some(mut cycle) = visit(id, edges, &mut marks, &mut stack) {
            let order: Vec<&String> = ids.iter().flatten().collect();
            cycle.sort_by_key(|id| order.iter().position(|known| *known == id));
            return Some(cycle);
        }
    }
    None
}
