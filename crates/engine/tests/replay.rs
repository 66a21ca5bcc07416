//! Replay from a task run: what is kept, what runs again, and that the restart rule continues
//! the new execution from exactly the chosen task run.

mod common;

use common::{Harness, work};
use peregrine_engine::replay::{ReplayError, ReplayFrom, replay_from, to_restart_from_committed};
use peregrine_engine::{Event, ExecutionState};
use peregrine_model::state::State;
use serde_json::{Value, json};

fn flow(tasks: Value) -> Value {
    json!({ "id": "f", "namespace": "test", "tasks": tasks })
}

fn succeed(_: &str, _: Option<&str>) -> State {
    State::Success
}

/// Runs the flow to its end, replays it from the last run of `task_id`, and returns the new
/// harness (not started) with the committed form of the replay.
fn replayed(flow: Value, task_id: &str) -> (Harness, peregrine_model::execution::Execution) {
    let mut harness = Harness::new(flow.clone());
    harness.run(succeed);
    assert_eq!(harness.execution_state(), State::Success);
    let old = harness.state.execution.clone();
    let chosen = old
        .task_run_list
        .iter()
        .rev()
        .find(|run| run.task_id == task_id)
        .expect("the task ran")
        .id
        .clone();
    let mut count = 0;
    let mut new_run_id = || {
        count += 1;
        format!("copy{count}")
    };
    let from = ReplayFrom {
        old: &old,
        frames: &harness.state.frames,
        root: &harness.state.root,
        task_run_id: &chosen,
    };
    let now = jiff::Timestamp::from_second(100).expect("a time");
    let replay =
        replay_from(&harness.plan, from, "new".into(), &mut new_run_id, now).expect("replayed");
    // What a server that stopped right after the replay's commit rebuilds is what the replay
    // handed the executor.
    assert_eq!(
        states(&to_restart_from_committed(&replay.execution)),
        states(&replay.to_restart)
    );
    let mut next = Harness::new(flow);
    next.state = ExecutionState::new(replay.to_restart, replay.root, replay.frames);
    (next, replay.execution)
}

type States = (
    State,
    Vec<peregrine_model::execution::StateEntry>,
    u32,
    Vec<(String, State, Vec<peregrine_model::execution::StateEntry>)>,
);

/// The states of an execution and of its task runs, with their histories.
fn states(execution: &peregrine_model::execution::Execution) -> States {
    (
        execution.state.current,
        execution.state.histories.clone(),
        execution.metadata.attempt_number,
        execution
            .task_run_list
            .iter()
            .map(|run| {
                (
                    run.id.clone(),
                    run.state.current,
                    run.state.histories.clone(),
                )
            })
            .collect(),
    )
}

fn tasks(execution: &peregrine_model::execution::Execution) -> Vec<(String, State)> {
    execution
        .task_run_list
        .iter()
        .map(|run| (run.task_id.clone(), run.state.current))
        .collect()
}

/// Answers every job with success, oldest first; returns the task ids run.
fn run_jobs(harness: &mut Harness) -> Vec<String> {
    let mut started = Vec::new();
    while let Some(job) = harness.jobs.pop_front() {
        started.push(job.task_run.task_id.clone());
        harness.answer(&job, State::Success, None);
    }
    started
}

#[test]
fn keeps_what_ended_before_and_runs_again_from_the_chosen_task_run() {
    let sequence = json!({
        "id": "seq",
        "type": "io.kestra.plugin.core.flow.Sequential",
        "tasks": [work("b"), work("c")]
    });
    let (mut harness, committed) = replayed(flow(json!([work("a"), sequence, work("d")])), "c");
    assert_eq!(
        tasks(&committed),
        [
            ("a".to_string(), State::Success),
            ("seq".to_string(), State::Running),
            ("b".to_string(), State::Success),
            ("c".to_string(), State::Restarted),
        ]
    );
    assert_eq!(committed.id, "new");
    assert_eq!(committed.parent_id.as_deref(), Some("execution"));
    assert_eq!(committed.original_id.as_deref(), Some("execution"));
    assert_eq!(committed.metadata.attempt_number, 2);
    assert_eq!(committed.state.current, State::Restarted);
    assert!(
        committed
            .task_run_list
            .iter()
            .all(|run| run.id.starts_with("copy") && run.execution_id == "new")
    );
    let seq_id = &committed.task_run_list[1].id;
    assert_eq!(
        committed.task_run_list[2].parent_task_run_id.as_ref(),
        Some(seq_id)
    );

    harness.send(Event::Restart);
    assert_eq!(run_jobs(&mut harness), ["c", "d"]);
    let execution = &harness.state.execution;
    assert_eq!(execution.state.current, State::Success);
    assert_eq!(execution.metadata.attempt_number, 2);
    let history: Vec<State> = execution.state.histories.iter().map(|e| e.state).collect();
    assert!(
        history.ends_with(&[
            State::Success,
            State::Restarted,
            State::Running,
            State::Success
        ]),
        "{history:?}"
    );
}

#[test]
fn other_parallel_branches_are_kept() {
    let parallel = json!({
        "id": "parallel",
        "type": "io.kestra.plugin.core.flow.Parallel",
        "tasks": [work("x"), work("y")]
    });
    let (mut harness, committed) = replayed(flow(json!([parallel, work("z")])), "x");
    assert_eq!(
        tasks(&committed),
        [
            ("parallel".to_string(), State::Running),
            ("x".to_string(), State::Restarted),
            ("y".to_string(), State::Success),
        ]
    );
    harness.send(Event::Restart);
    assert_eq!(run_jobs(&mut harness), ["x", "z"]);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn a_flowable_runs_its_children_again() {
    let sequence = json!({
        "id": "seq",
        "type": "io.kestra.plugin.core.flow.Sequential",
        "tasks": [work("b"), work("c")]
    });
    let (mut harness, committed) = replayed(flow(json!([work("a"), sequence])), "seq");
    assert_eq!(
        tasks(&committed),
        [
            ("a".to_string(), State::Success),
            ("seq".to_string(), State::Running),
        ]
    );
    harness.send(Event::Restart);
    assert_eq!(run_jobs(&mut harness), ["b", "c"]);
    assert_eq!(harness.execution_state(), State::Success);
}

#[test]
fn an_unknown_task_run_is_refused() {
    let mut harness = Harness::new(flow(json!([work("a")])));
    harness.run(succeed);
    let from = ReplayFrom {
        old: &harness.state.execution,
        frames: &harness.state.frames,
        root: &harness.state.root,
        task_run_id: "nope",
    };
    let error = replay_from(
        &harness.plan,
        from,
        "new".into(),
        &mut || "id".to_string(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    assert!(matches!(error, Err(ReplayError::UnknownTaskRun { .. })));
}
