//! A worker died holding a task run: the attempt it lost is recorded as RESUBMITTED and the next
//! attempt, on another worker, decides the task run.

mod common;

use common::{Harness, work};
use peregrine_engine::{Event, TaskUpdate};
use peregrine_model::state::State;
use serde_json::json;

fn update(task_run_id: &str, attempt: u32, state: State) -> Event {
    Event::TaskUpdate(TaskUpdate {
        task_run_id: task_run_id.to_string(),
        attempt,
        state,
        outputs: None,
        worker_id: Some(format!("worker-{attempt}")),
    })
}

#[test]
fn a_lost_attempt_is_recorded_and_the_next_one_ends_the_task_run() {
    let mut harness = Harness::new(json!({ "id": "f", "namespace": "test", "tasks": [work("a")] }));
    harness.send(Event::Start);
    let job = harness.jobs.pop_front().expect("a job");
    let id = job.task_run.id.clone();
    harness.send(update(&id, 1, State::Running));
    harness.send(update(&id, 1, State::Resubmitted));
    assert_eq!(harness.task_state("a", None), Some(State::Running));
    harness.send(update(&id, 2, State::Running));
    harness.send(update(&id, 2, State::Success));

    let run = &harness.state.execution.task_run_list[0];
    let attempts: Vec<State> = run.attempts.iter().map(|a| a.state.current).collect();
    assert_eq!(attempts, [State::Resubmitted, State::Success]);
    assert_eq!(run.state.current, State::Success);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn a_lost_attempt_never_reported_running_is_still_recorded() {
    let mut harness = Harness::new(json!({ "id": "f", "namespace": "test", "tasks": [work("a")] }));
    harness.send(Event::Start);
    let job = harness.jobs.pop_front().expect("a job");
    let id = job.task_run.id.clone();
    harness.send(update(&id, 2, State::Running));
    harness.send(update(&id, 1, State::Resubmitted));
    harness.send(update(&id, 2, State::Failed));

    let run = &harness.state.execution.task_run_list[0];
    let attempts: Vec<State> = run.attempts.iter().map(|a| a.state.current).collect();
    assert_eq!(attempts, [State::Resubmitted, State::Failed]);
    assert_eq!(harness.execution_state(), State::Failed);
}

#[test]
fn a_resubmission_after_the_end_changes_nothing() {
    let mut harness = Harness::new(json!({ "id": "f", "namespace": "test", "tasks": [work("a")] }));
    harness.send(Event::Start);
    let job = harness.jobs.pop_front().expect("a job");
    let id = job.task_run.id.clone();
    harness.send(update(&id, 1, State::Success));
    harness.send(update(&id, 1, State::Resubmitted));
    let run = &harness.state.execution.task_run_list[0];
    assert_eq!(run.attempts[0].state.current, State::Success);
}
