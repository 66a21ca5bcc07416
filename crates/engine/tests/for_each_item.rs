//! ForEachItem in the engine alone: the split step's batches become subflows with their own
//! inputs, their ends are counted once each (in any order, across a read back of the state), and
//! the merge step is given their outputs in batch order.

mod common;

use common::Harness;
use peregrine_engine::{Effect, Event, ExecutionState, SubflowEnded, SubflowStart};
use peregrine_model::state::State;
use serde_json::{Map, Value, json};

fn flow(wait: bool) -> Value {
    json!({
        "id": "parent",
        "namespace": "test",
        "tasks": [{
            "id": "each",
            "type": "io.kestra.plugin.core.flow.ForEachItem",
            "items": "kestra:///test/items.txt",
            "batch": { "rows": 2 },
            "namespace": "test",
            "flowId": "child",
            "wait": wait,
            "inputs": { "items": "{{ taskrun.items }}", "number": "{{ taskrun.iteration }}" }
        }]
    })
}

/// Starts the flow and answers the split step with three batches; the subflows started.
fn split_into_three(harness: &mut Harness) -> Vec<SubflowStart> {
    harness.send(Event::Start);
    let split = harness.jobs.pop_front().expect("the split job");
    assert_eq!(split.task_run.task_id, "each_split");
    assert_eq!(
        split.task.properties["items"],
        json!("kestra:///test/items.txt")
    );
    let mut outputs = Map::new();
    outputs.insert("splits".into(), json!("kestra:///test/splits.txt"));
    outputs.insert(
        "uris".into(),
        json!(["kestra:///b1", "kestra:///b2", "kestra:///b3"]),
    );
    harness.answer(&split, State::Success, Some(outputs));
    harness
        .effects
        .drain(..)
        .filter_map(|effect| match effect {
            Effect::StartSubflow(start) => Some(*start),
            _ => None,
        })
        .collect()
}

fn ended(start: &SubflowStart, state: State, value: &str) -> Event {
    let mut flow_outputs = Map::new();
    flow_outputs.insert("value".into(), json!(value));
    Event::SubflowEnded(SubflowEnded {
        task_run_id: start.task_run_id.clone(),
        execution_id: start.execution_id.clone(),
        state,
        task_outputs: Map::new(),
        flow_outputs,
    })
}

fn items_outputs(harness: &Harness) -> Value {
    harness
        .state
        .execution
        .task_run_list
        .iter()
        .find(|run| run.task_id == "each_items")
        .and_then(|run| run.outputs.clone())
        .map_or(Value::Null, Value::Object)
}

#[test]
fn each_batch_starts_a_subflow_with_its_file() {
    let mut harness = Harness::new(flow(true));
    let starts = split_into_three(&mut harness);
    let inputs: Vec<&Map<String, Value>> = starts.iter().map(|start| &start.inputs).collect();
    assert_eq!(
        inputs,
        [
            json!({ "items": "kestra:///b1", "number": 1 })
                .as_object()
                .expect("a map"),
            json!({ "items": "kestra:///b2", "number": 2 })
                .as_object()
                .expect("a map"),
            json!({ "items": "kestra:///b3", "number": 3 })
                .as_object()
                .expect("a map"),
        ]
    );
    assert!(
        starts
            .iter()
            .all(|start| start.wait && start.flow_id == "child")
    );
    let mut ids: Vec<&str> = starts
        .iter()
        .map(|start| start.execution_id.as_str())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(
        items_outputs(&harness),
        json!({ "iterations": { "CREATED": 0, "RUNNING": 3 }, "numberOfBatches": 3 })
    );
}

#[test]
fn ends_are_counted_once_and_outputs_merged_in_batch_order() {
    let mut harness = Harness::new(flow(true));
    let starts = split_into_three(&mut harness);
    harness.send(ended(&starts[2], State::Success, "three"));
    harness.send(ended(&starts[2], State::Success, "three"));
    harness.send(ended(&starts[0], State::Warning, "one"));
    assert_eq!(
        items_outputs(&harness),
        json!({
            "iterations": { "CREATED": 0, "RUNNING": 1, "SUCCESS": 1, "WARNING": 1 },
            "numberOfBatches": 3
        })
    );
    assert!(
        harness.jobs.is_empty(),
        "the merge waits for the last subflow"
    );
    // What a store holds: the execution and the frames, the subflows' records among them.
    let stored = &harness.state;
    harness.state = ExecutionState::new(
        stored.execution.clone(),
        stored.root.clone(),
        stored.frames.clone(),
    );
    harness.send(ended(&starts[1], State::Success, "two"));
    let merge = harness.jobs.pop_front().expect("the merge job");
    assert_eq!(merge.task_run.task_id, "each_merge");
    assert_eq!(
        merge.task.properties["outputs"],
        json!([{ "value": "one" }, { "value": "two" }, { "value": "three" }])
    );
    let mut outputs = Map::new();
    outputs.insert("subflowOutputs".into(), json!("kestra:///merged.ion"));
    harness.answer(&merge, State::Success, Some(outputs));
    assert_eq!(harness.task_state("each_items", None), Some(State::Warning));
    assert_eq!(harness.task_state("each", None), Some(State::Warning));
    assert_eq!(harness.execution_state(), State::Warning);
}

#[test]
fn a_failed_subflow_fails_the_step_and_skips_the_merge() {
    let mut harness = Harness::new(flow(true));
    let starts = split_into_three(&mut harness);
    for (start, state) in starts
        .iter()
        .zip([State::Success, State::Failed, State::Killed])
    {
        harness.send(ended(start, state, "x"));
    }
    assert_eq!(harness.task_state("each_items", None), Some(State::Failed));
    assert_eq!(harness.task_state("each_merge", None), None);
    assert_eq!(harness.execution_state(), State::Failed);
}

#[test]
fn without_waiting_the_step_ends_once_the_subflows_are_started() {
    let mut harness = Harness::new(flow(false));
    let starts = split_into_three(&mut harness);
    assert!(starts.iter().all(|start| !start.wait));
    assert_eq!(harness.task_state("each_items", None), Some(State::Success));
    assert_eq!(
        items_outputs(&harness),
        json!({ "iterations": { "RUNNING": 0, "SUCCESS": 3 }, "numberOfBatches": 3 })
    );
    let merge = harness.jobs.pop_front().expect("the merge job");
    assert_eq!(merge.task.properties["outputs"], json!([]));
}

#[test]
fn a_restart_starts_the_subflows_again() {
    let mut harness = Harness::new(flow(true));
    let first = split_into_three(&mut harness);
    for (start, state) in first
        .iter()
        .zip([State::Success, State::Failed, State::Success])
    {
        harness.send(ended(start, state, "old"));
    }
    assert_eq!(harness.execution_state(), State::Failed);
    harness.send(Event::Restart);
    let again: Vec<SubflowStart> = harness
        .effects
        .drain(..)
        .filter_map(|effect| match effect {
            Effect::StartSubflow(start) => Some(*start),
            _ => None,
        })
        .collect();
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|start| {
        first
            .iter()
            .all(|old| old.execution_id != start.execution_id)
    }));
    // An end of an earlier subflow no longer counts.
    harness.send(ended(&first[1], State::Failed, "old"));
    for start in &again {
        harness.send(ended(start, State::Success, "new"));
    }
    let merge = harness.jobs.pop_front().expect("the merge job");
    assert_eq!(
        merge.task.properties["outputs"],
        json!([{ "value": "new" }, { "value": "new" }, { "value": "new" }])
    );
    harness.answer(&merge, State::Success, None);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn a_kill_waits_for_the_subflows_to_end() {
    let mut harness = Harness::new(flow(true));
    let starts = split_into_three(&mut harness);
    harness.send(Event::Kill);
    assert!(harness.effects.contains(&Effect::KillTasks));
    assert_eq!(harness.execution_state(), State::Killing);
    for start in &starts {
        harness.send(ended(start, State::Killed, "x"));
    }
    assert_eq!(harness.task_state("each_items", None), Some(State::Killed));
    assert_eq!(harness.execution_state(), State::Killed);
}
