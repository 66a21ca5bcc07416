//! The expression context of an execution and of each task run, as Kestra's `RunVariables` builds it.

use peregrine_model::execution::TaskRun;
use serde_json::{Map, Value, json};

use crate::history::{History, LoopKey};
use crate::plan::FlowPlan;
use crate::state::ExecutionState;

/// Values from the server's configuration: `envs` and `globals`.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    pub envs: Value,
    pub globals: Value,
}

/// The loop values leading to a task run, outermost first: the key path of its outputs.
pub fn value_path(state: &ExecutionState, run: &TaskRun) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = Some(run);
    while let Some(run) = current {
        chain.push(run.value.clone());
        current = run
            .parent_task_run_id
            .as_deref()
            .and_then(|parent| state.run(parent));
    }
    chain.reverse();
    let mut path: Vec<String> = Vec::new();
    let mut previous: Option<&Option<String>> = None;
    for value in &chain {
        // Children inherit their parent's value: count each loop level once.
        if value.is_some()
            && previous != Some(value)
            && let Some(text) = value
        {
            path.push(text.clone());
        }
        previous = Some(value);
    }
    path
}

/// Adds a task run's outputs to the `outputs` tree: `outputs.<task>` or `outputs.<task>.<value>...`.
pub fn insert_outputs(
    tree: &mut Map<String, Value>,
    task_id: &str,
    path: &[String],
    outputs: &Map<String, Value>,
) {
    let mut slot = tree
        .entry(task_id.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    for key in path {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(object) = slot else { return };
        slot = object
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    match slot {
        Value::Object(object) => {
            for (key, value) in outputs {
                object.insert(key.clone(), value.clone());
            }
        }
        other => *other = Value::Object(outputs.clone()),
    }
}

fn insert_nested(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(next) = entry {
                insert_nested(next, rest, value);
            }
        }
    }
}

/// The context shared by every task of the execution.
pub fn execution_variables(
    plan: &FlowPlan,
    state: &ExecutionState,
    globals: &Globals,
) -> Map<String, Value> {
    variables_with(plan, state, globals, &History::All, None)
}

/// The execution's context, with only the part of `outputs` and `tasks` that `history` names
/// (the whole of them costs O(task runs) to copy). `run` gives the loop values of narrowed reads.
fn variables_with(
    plan: &FlowPlan,
    state: &ExecutionState,
    globals: &Globals,
    history: &History,
    run: Option<&TaskRun>,
) -> Map<String, Value> {
    let execution = &state.execution;
    let flow = &plan.flow;
    let mut variables = Map::new();
    variables.insert(
        "flow".into(),
        json!({ "id": flow.id, "namespace": flow.namespace, "revision": execution.flow_revision }),
    );
    variables.insert(
        "execution".into(),
        json!({
            "id": execution.id,
            "startDate": execution.state.start_date.map(java_instant),
            "originalId": execution.original_id.clone().unwrap_or_else(|| execution.id.clone()),
            "state": execution.state.current,
        }),
    );
    variables.insert(
        "inputs".into(),
        Value::Object(execution.inputs.clone().unwrap_or_default()),
    );
    variables.insert(
        "outputs".into(),
        Value::Object(outputs_read(state, history, run)),
    );
    if let Some(vars) = &flow.variables {
        variables.insert("vars".into(), Value::Object(vars.clone()));
    }
    // Dotted keys nest, as Kestra's `labels.system.correlationId`.
    let mut labels = Map::new();
    for label in &execution.labels {
        let path: Vec<&str> = label.key.split('.').collect();
        insert_nested(&mut labels, &path, Value::String(label.value.clone()));
    }
    variables.insert("labels".into(), Value::Object(labels));
    if let Some(trigger) = &execution.trigger {
        variables.insert(
            "trigger".into(),
            Value::Object(trigger.variables.clone().unwrap_or_default()),
        );
    }
    variables.insert("envs".into(), globals.envs.clone());
    variables.insert("globals".into(), globals.globals.clone());
    let task_state = |run: &TaskRun| (run.task_id.clone(), json!({ "state": run.state.current }));
    let tasks: Map<String, Value> = match history {
        History::Nothing => Map::new(),
        History::Tasks(refs) => refs
            .iter()
            .filter_map(|task| state.latest_run(&task.task_id))
            .map(task_state)
            .collect(),
        History::All => state.latest_runs().map(task_state).collect(),
    };
    variables.insert("tasks".into(), Value::Object(tasks));
    variables
}

/// The part of the `outputs` tree a task reads.
fn outputs_read(
    state: &ExecutionState,
    history: &History,
    run: Option<&TaskRun>,
) -> Map<String, Value> {
    let refs = match history {
        History::Nothing => return Map::new(),
        History::All => return state.outputs.clone(),
        History::Tasks(refs) => refs,
    };
    let mut outputs = Map::new();
    for task in refs {
        let Some(tree) = state.outputs.get(&task.task_id) else {
            continue;
        };
        let key = match (task.only, run) {
            (Some(LoopKey::Own), Some(run)) => run.value.as_deref(),
            (Some(LoopKey::Parent), Some(run)) => run
                .parent_task_run_id
                .as_deref()
                .and_then(|parent| state.run(parent))
                .and_then(|parent| parent.value.as_deref()),
            _ => None,
        };
        let narrowed = match (key, tree) {
            (Some(key), Value::Object(entries)) => {
                let mut only = Map::new();
                if let Some(entry) = entries.get(key) {
                    only.insert(key.to_string(), entry.clone());
                }
                Value::Object(only)
            }
            _ => tree.clone(),
        };
        outputs.insert(task.task_id.clone(), narrowed);
    }
    outputs
}

/// The context of one task run: the execution's, plus `task`, `taskrun`, `parent` and `parents`.
pub fn task_variables(
    plan: &FlowPlan,
    state: &ExecutionState,
    globals: &Globals,
    run: &TaskRun,
    type_name: &str,
) -> Value {
    let history = plan
        .find(&run.task_id)
        .map_or(&History::All, |node| &plan.node(node).history);
    let mut variables = variables_with(plan, state, globals, history, Some(run));
    variables.insert(
        "task".into(),
        json!({ "id": run.task_id, "type": type_name }),
    );
    let mut taskrun = json!({
        "id": run.id,
        "startDate": run.state.start_date.map(java_instant),
        "attemptsCount": run.attempts.len(),
        "parentId": run.parent_task_run_id,
        "value": run.value,
    });
    if let Some(iteration) = run.iteration {
        taskrun["iteration"] = json!(iteration);
    }
    variables.insert("taskrun".into(), taskrun);
    let mut parents = Vec::new();
    let mut current = run
        .parent_task_run_id
        .as_deref()
        .and_then(|parent| state.run(parent));
    while let Some(parent) = current {
        // Kestra's shape: `{taskrun: {value}}`, with `outputs` when the parent has some.
        let mut entry = Map::new();
        if let Some(outputs) = parent
            .outputs
            .as_ref()
            .filter(|outputs| !outputs.is_empty())
        {
            entry.insert("outputs".into(), Value::Object(outputs.clone()));
        }
        entry.insert("taskrun".into(), json!({ "value": parent.value }));
        parents.push(Value::Object(entry));
        current = parent
            .parent_task_run_id
            .as_deref()
            .and_then(|id| state.run(id));
    }
    if let Some(first) = parents.first() {
        variables.insert("parent".into(), first.clone());
    }
    if !parents.is_empty() {
        variables.insert("parents".into(), Value::Array(parents));
    }
    Value::Object(variables)
}

/// A date as Java's `Instant#toString` prints it: seconds, then the fraction in groups of three
/// digits when there is one (`...:08Z`, `...:08.500Z`).
pub fn java_instant(timestamp: jiff::Timestamp) -> String {
    let seconds = jiff::Timestamp::from_second(timestamp.as_second()).unwrap_or(timestamp);
    let base = seconds.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = timestamp.subsec_nanosecond();
    if nanos == 0 {
        format!("{base}Z")
    } else if nanos % 1_000_000 == 0 {
        format!("{base}.{:03}Z", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!("{base}.{:06}Z", nanos / 1_000)
    } else {
        format!("{base}.{nanos:09}Z")
    }
}
