//! The order in which containers create their task runs, per strategy, and how they end: each
//! case runs a flow with a worker that ends every job at once, oldest first.

mod common;

use common::{Harness, work};
use peregrine_model::state::State;
use serde_json::{Value, json};

fn flow(tasks: Value) -> Value {
    json!({ "id": "f", "namespace": "test", "tasks": tasks })
}

fn succeed(_: &str, _: Option<&str>) -> State {
    State::Success
}

#[test]
fn sequential_lists_run_one_item_at_a_time() {
    let mut harness = Harness::new(flow(json!([work("a"), work("b"), work("c")])));
    assert_eq!(harness.run(succeed), ["a", "b", "c"]);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn for_each_groups_run_in_parallel_up_to_the_limit_each_in_order() {
    let mut harness = Harness::new(flow(json!([{
        "id": "each",
        "type": "io.kestra.plugin.core.flow.ForEach",
        "values": ["1", "2", "3"],
        "concurrencyLimit": 2,
        "tasks": [work("a"), work("b")]
    }])));
    // Two groups start; each goes on when its own item ends; the third starts when one is done.
    assert_eq!(
        harness.run(succeed),
        ["a(1)", "a(2)", "b(1)", "b(2)", "a(3)", "b(3)"]
    );
    assert_eq!(harness.state.execution.task_run_list.len(), 7);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn for_each_with_limit_one_runs_everything_in_order() {
    let mut harness = Harness::new(flow(json!([{
        "id": "each",
        "type": "io.kestra.plugin.core.flow.ForEach",
        "values": ["1", "2"],
        "concurrencyLimit": 1,
        "tasks": [work("a"), work("b")]
    }])));
    assert_eq!(harness.run(succeed), ["a(1)", "b(1)", "a(2)", "b(2)"]);
}

#[test]
fn parallel_keeps_at_most_the_limit_running() {
    let mut harness = Harness::new(flow(json!([{
        "id": "parallel",
        "type": "io.kestra.plugin.core.flow.Parallel",
        "concurrent": 2,
        "tasks": [work("a"), work("b"), work("c"), work("d")]
    }])));
    harness.send(peregrine_engine::Event::Start);
    let running: Vec<String> = harness
        .jobs
        .iter()
        .map(|job| job.task_run.task_id.clone())
        .collect();
    assert_eq!(running, ["a", "b"]);
    let first = harness.jobs.pop_front().expect("a job");
    harness.answer(&first, State::Success, None);
    let running: Vec<String> = harness
        .jobs
        .iter()
        .map(|job| job.task_run.task_id.clone())
        .collect();
    assert_eq!(running, ["b", "c"]);
}

#[test]
fn a_failure_stops_the_list_and_runs_errors_then_finally() {
    let mut harness = Harness::new(json!({
        "id": "f",
        "namespace": "test",
        "tasks": [work("a"), work("b"), work("c")],
        "errors": [work("e1"), work("e2")],
        "finally": [work("z")]
    }));
    let failing_b = |task: &str, _: Option<&str>| {
        if task == "b" {
            State::Failed
        } else {
            State::Success
        }
    };
    assert_eq!(harness.run(failing_b), ["a", "b", "e1", "e2", "z"]);
    assert_eq!(harness.execution_state(), State::Failed);
    assert_eq!(harness.task_state("c", None), None);
}

#[test]
fn states_of_children_end_the_container_by_precedence() {
    let mut harness = Harness::new(flow(json!([{
        "id": "each",
        "type": "io.kestra.plugin.core.flow.ForEach",
        "values": ["1", "2", "3"],
        "concurrencyLimit": 0,
        "tasks": [work("a")]
    }])));
    let warn_on_two = |_: &str, value: Option<&str>| {
        if value == Some("2") {
            State::Warning
        } else {
            State::Success
        }
    };
    harness.run(warn_on_two);
    assert_eq!(harness.task_state("each", None), Some(State::Warning));
    assert_eq!(harness.execution_state(), State::Warning);
}

#[test]
fn dag_items_wait_for_their_dependencies() {
    let mut harness = Harness::new(flow(json!([{
        "id": "dag",
        "type": "io.kestra.plugin.core.flow.Dag",
        "tasks": [
            { "task": work("c"), "dependsOn": ["a", "b"] },
            { "task": work("a") },
            { "task": work("b"), "dependsOn": ["a"] }
        ]
    }])));
    assert_eq!(harness.run(succeed), ["a", "b", "c"]);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn a_skipped_item_lets_the_next_one_start() {
    let mut harness = Harness::new(flow(json!([
        work("a"),
        { "id": "b", "type": "test.Work", "runIf": "false" },
        work("c")
    ])));
    assert_eq!(harness.run(succeed), ["a", "c"]);
    assert_eq!(harness.task_state("b", None), Some(State::Skipped));
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn nested_loops_track_each_container_on_its_own() {
    let mut harness = Harness::new(flow(json!([{
        "id": "outer",
        "type": "io.kestra.plugin.core.flow.ForEach",
        "values": ["x", "y"],
        "concurrencyLimit": 1,
        "tasks": [{
            "id": "inner",
            "type": "io.kestra.plugin.core.flow.ForEach",
            "values": ["1", "2"],
            "concurrencyLimit": 1,
            "tasks": [work("a")]
        }]
    }])));
    assert_eq!(harness.run(succeed), ["a(1)", "a(2)", "a(1)", "a(2)"]);
    assert_eq!(harness.state.execution.task_run_list.len(), 1 + 2 + 4);
    assert_eq!(harness.execution_state(), State::Success);
}
