//! A step costs the same whatever the size of the execution: a ForEach over 10,000 values takes
//! about ten times as long as one over 1,000, not a hundred; jobs carry only the outputs their
//! templates read; an execution read back mid-way goes on where it was.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, work};
use peregrine_engine::{Event, ExecutionState};
use peregrine_model::state::State;
use serde_json::{Map, Value, json};

fn for_each(size: usize, tasks: Value) -> Value {
    let values: Vec<String> = (1..=size).map(|value| value.to_string()).collect();
    json!({
        "id": "loop",
        "namespace": "test",
        "tasks": [{
            "id": "each",
            "type": "io.kestra.plugin.core.flow.ForEach",
            "values": values,
            "concurrencyLimit": 0,
            "tasks": tasks
        }]
    })
}

fn value_outputs(value: &str) -> Option<Map<String, Value>> {
    let mut outputs = Map::new();
    outputs.insert("value".into(), json!(value));
    Some(outputs)
}

/// Runs the loop, answering every job with its value as output; the time of the steps.
fn run_loop(size: usize) -> Duration {
    let mut harness = Harness::new(for_each(size, json!([work("a")])));
    let start = Instant::now();
    harness.send(Event::Start);
    while let Some(job) = harness.jobs.pop_front() {
        let value = job.task_run.value.clone().unwrap_or_default();
        harness.answer(&job, State::Success, value_outputs(&value));
    }
    let elapsed = start.elapsed();
    eprintln!("engine alone: ForEach over {size} values in {elapsed:?}");
    assert_eq!(harness.execution_state(), State::Success);
    assert_eq!(harness.state.execution.task_run_list.len(), size + 1);
    elapsed
}

#[test]
fn a_for_each_step_costs_the_same_at_any_size() {
    let small = run_loop(1_000);
    let large = run_loop(10_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    // Linear is 10; quadratic would be 100.
    assert!(
        ratio < 30.0,
        "1,000 values took {small:?}, 10,000 took {large:?} ({ratio:.1} times)"
    );
}

#[test]
fn jobs_carry_only_the_outputs_they_read() {
    let tasks = json!([
        work("a"),
        { "id": "b", "type": "test.Work", "format": "{{ outputs.a[taskrun.value].value }}" },
        { "id": "c", "type": "test.Work", "format": "{{ taskrun.value }}" }
    ]);
    let mut flow = for_each(3, tasks);
    flow["tasks"][0]["concurrencyLimit"] = json!(1);
    let mut harness = Harness::new(flow);
    harness.send(Event::Start);
    while let Some(job) = harness.jobs.pop_front() {
        let value = job.task_run.value.clone().unwrap_or_default();
        let outputs = &job.variables["outputs"];
        match job.task_run.task_id.as_str() {
            "b" => assert_eq!(
                outputs,
                &json!({ "a": { value.clone(): { "value": value } } })
            ),
            _ => assert_eq!(outputs, &json!({})),
        }
        harness.answer(&job, State::Success, value_outputs(&value));
    }
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn an_execution_read_back_mid_way_goes_on_where_it_was() {
    let tasks = json!([work("a"), work("b")]);
    let mut flow = for_each(4, tasks);
    flow["tasks"][0]["concurrencyLimit"] = json!(2);
    let mut harness = Harness::new(flow);
    harness.send(Event::Start);
    for _ in 0..3 {
        let job = harness.jobs.pop_front().expect("a job");
        harness.answer(&job, State::Success, None);
    }
    // What a store holds: the execution and the frames; the progress is counted again.
    let stored = &harness.state;
    let restored = ExecutionState::new(
        stored.execution.clone(),
        stored.root.clone(),
        stored.frames.clone(),
    );
    harness.state = restored;
    let mut started = Vec::new();
    while let Some(job) = harness.jobs.pop_front() {
        started.push(format!(
            "{}({})",
            job.task_run.task_id,
            job.task_run.value.clone().unwrap_or_default()
        ));
        harness.answer(&job, State::Success, None);
    }
    assert_eq!(
        started,
        ["b(2)", "a(3)", "a(4)", "b(3)", "b(4)"],
        "the jobs already sent, then what the limit allows"
    );
    assert_eq!(harness.state.execution.task_run_list.len(), 9);
    assert_eq!(harness.execution_state(), State::Success);
}
