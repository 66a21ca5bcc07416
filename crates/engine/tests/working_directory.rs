//! A WorkingDirectory with `outputFiles` or a `cache` closes its folder once its tasks have
//! ended: a closing job for its own task run, whose report ends it with the outputs reported.

mod common;

use common::{Harness, work};
use peregrine_engine::{Effect, Event, WorkerJob};
use peregrine_model::state::State;
use serde_json::{Value, json};

fn flow(extra: Value) -> Value {
    let mut directory = json!({
        "id": "wd",
        "type": "io.kestra.plugin.core.flow.WorkingDirectory",
        "tasks": [work("a"), work("b")]
    });
    if let (Some(directory), Value::Object(extra)) = (directory.as_object_mut(), extra) {
        directory.extend(extra);
    }
    json!({ "id": "f", "namespace": "test", "tasks": [directory, work("after")] })
}

/// Starts the flow and ends the WorkingDirectory's tasks with `state`; returns the next job.
fn run_tasks(harness: &mut Harness, state: State) -> Option<WorkerJob> {
    harness.send(Event::Start);
    for _ in 0..2 {
        let job = harness.jobs.pop_front()?;
        assert!(!job.closes_directory);
        harness.answer(&job, state, None);
        if state == State::Failed {
            break;
        }
    }
    harness.jobs.pop_front()
}

fn released(harness: &Harness) -> bool {
    harness
        .effects
        .iter()
        .any(|effect| matches!(effect, Effect::ReleaseDirectory { .. }))
}

#[test]
fn output_files_close_the_folder_before_the_working_directory_ends() {
    let mut harness = Harness::new(flow(json!({ "outputFiles": ["*.txt"] })));
    let closing = run_tasks(&mut harness, State::Success).expect("a closing job");
    assert!(closing.closes_directory);
    assert_eq!(closing.task_run.task_id, "wd");
    let shared = closing.working_directory.clone().expect("the folder");
    assert_eq!(shared.key, closing.task_run.id);
    assert_eq!(shared.output_files, ["*.txt"]);
    assert_eq!(harness.task_state("wd", None), Some(State::Running));
    assert!(!released(&harness));
    // The RUNNING report changes nothing; the final one ends the WorkingDirectory.
    harness.answer(&closing, State::Running, None);
    assert_eq!(harness.task_state("wd", None), Some(State::Running));
    let outputs = json!({"outputFiles": {"out.txt": "kestra:///f/out.txt"}});
    harness.answer(&closing, State::Success, outputs.as_object().cloned());
    assert_eq!(harness.task_state("wd", None), Some(State::Success));
    assert!(released(&harness));
    let run = &harness.state.execution.task_run_list[0];
    assert_eq!(
        run.outputs.as_ref().map(|o| Value::Object(o.clone())),
        Some(outputs)
    );
    let after = harness.jobs.pop_front().expect("the next task");
    assert_eq!(after.task_run.task_id, "after");
}

#[test]
fn a_cache_closes_the_folder_even_after_a_failure_and_a_failed_closing_fails() {
    let mut harness = Harness::new(flow(json!({
        "cache": { "patterns": ["node_modules/**"], "ttl": "PT1H" }
    })));
    let closing = run_tasks(&mut harness, State::Failed).expect("a closing job");
    let cache = closing
        .working_directory
        .as_ref()
        .and_then(|shared| shared.cache.clone())
        .expect("a cache");
    assert_eq!(cache.task_id, "wd");
    assert_eq!(cache.patterns, ["node_modules/**"]);
    harness.answer(&closing, State::Failed, None);
    assert_eq!(harness.task_state("wd", None), Some(State::Failed));
    assert_eq!(harness.execution_state(), State::Failed);

    let mut harness = Harness::new(flow(json!({ "outputFiles": ["x"] })));
    let closing = run_tasks(&mut harness, State::Success).expect("a closing job");
    harness.answer(&closing, State::Failed, None);
    assert_eq!(harness.task_state("wd", None), Some(State::Failed));
}

#[test]
fn without_outputs_or_cache_the_folder_is_released_at_once() {
    let mut harness = Harness::new(flow(json!({})));
    let next = run_tasks(&mut harness, State::Success).expect("the next task");
    assert_eq!(next.task_run.task_id, "after");
    assert_eq!(harness.task_state("wd", None), Some(State::Success));
    assert!(released(&harness));
}

#[test]
fn a_kill_while_closing_ends_the_working_directory_killed() {
    let mut harness = Harness::new(flow(json!({ "outputFiles": ["*.txt"] })));
    let closing = run_tasks(&mut harness, State::Success).expect("a closing job");
    harness.send(Event::Kill);
    assert_eq!(harness.task_state("wd", None), Some(State::Killed));
    assert_eq!(harness.execution_state(), State::Killed);
    harness.answer(&closing, State::Killed, None);
    assert_eq!(harness.execution_state(), State::Killed);
}
