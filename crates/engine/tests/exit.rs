//! `execution.Exit`: the execution ends at once in the state the task names; KILLED kills what
//! still runs; nothing starts after it.

mod common;

use common::{Harness, work};
use peregrine_engine::{Effect, Event};
use peregrine_model::state::State;
use serde_json::{Value, json};

fn flow(tasks: Value) -> Value {
    json!({ "id": "f", "namespace": "test", "tasks": tasks })
}

fn exit(state: Option<&str>) -> Value {
    let mut task = json!({ "id": "exit", "type": "io.kestra.plugin.core.execution.Exit" });
    if let Some(state) = state {
        task["state"] = json!(state);
    }
    task
}

/// Kestra's `exit.yaml`: an If whose else branch exits, then a task that must not run.
fn exit_in_if(state: &str) -> Value {
    flow(json!([
        {
            "id": "if",
            "type": "io.kestra.plugin.core.flow.If",
            "condition": "false",
            "then": [work("hello")],
            "else": [exit(Some(state))]
        },
        work("end")
    ]))
}

fn task_ids(harness: &Harness) -> Vec<String> {
    harness
        .state
        .execution
        .task_run_list
        .iter()
        .map(|run| run.task_id.clone())
        .collect()
}

fn ended(harness: &Harness) -> Vec<State> {
    harness
        .effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Ended(state) => Some(*state),
            _ => None,
        })
        .collect()
}

#[test]
fn exit_ends_the_execution_and_its_parents_in_the_given_state() {
    let mut harness = Harness::new(exit_in_if("WARNING"));
    let started = harness.run(|_, _| State::Success);
    assert!(started.is_empty(), "no worker job: {started:?}");
    assert_eq!(harness.execution_state(), State::Warning);
    assert_eq!(task_ids(&harness), ["if", "exit"]);
    assert_eq!(harness.task_state("if", None), Some(State::Warning));
    assert_eq!(harness.task_state("exit", None), Some(State::Warning));
    assert_eq!(ended(&harness), [State::Warning]);
    let exit = &harness.state.execution.task_run_list[1];
    assert_eq!(exit.attempts.len(), 1);
    assert_eq!(exit.attempts[0].state.current, State::Warning);
}

#[test]
fn exit_state_defaults_to_success_and_reads_every_kestra_state() {
    let mut harness = Harness::new(flow(json!([exit(None), work("after")])));
    assert!(harness.run(|_, _| State::Success).is_empty());
    assert_eq!(harness.execution_state(), State::Success);
    for (name, state) in [
        ("FAILED", State::Failed),
        ("CANCELED", State::Cancelled),
        ("CANCELLED", State::Cancelled),
        ("SUCCESS", State::Success),
    ] {
        let mut harness = Harness::new(exit_in_if(name));
        harness.run(|_, _| State::Success);
        assert_eq!(harness.execution_state(), state, "{name}");
        assert_eq!(harness.task_state("if", None), Some(state), "{name}");
    }
}

#[test]
fn an_unknown_exit_state_fails_the_task_run() {
    let mut harness = Harness::new(flow(json!([exit(Some("DONE")), work("after")])));
    assert!(harness.run(|_, _| State::Success).is_empty());
    assert_eq!(harness.task_state("exit", None), Some(State::Failed));
    assert_eq!(harness.execution_state(), State::Failed);
}

#[test]
fn exit_killed_kills_the_execution_and_its_parents() {
    let mut harness = Harness::new(exit_in_if("KILLED"));
    assert!(harness.run(|_, _| State::Success).is_empty());
    assert_eq!(harness.execution_state(), State::Killed);
    assert_eq!(task_ids(&harness), ["if", "exit"]);
    assert_eq!(harness.task_state("if", None), Some(State::Killed));
    assert_eq!(harness.task_state("exit", None), Some(State::Killed));
    assert!(harness.effects.contains(&Effect::KillTasks));
}

#[test]
fn exit_killed_waits_for_running_siblings_to_be_killed() {
    let mut harness = Harness::new(flow(json!([{
        "id": "parallel",
        "type": "io.kestra.plugin.core.flow.Parallel",
        "tasks": [
            work("slow"),
            { "id": "branch", "type": "io.kestra.plugin.core.flow.Sequential",
              "tasks": [work("quick"), exit(Some("KILLED"))] }
        ]
    }])));
    harness.send(Event::Start);
    let slow = harness.jobs.pop_front().expect("the slow task runs");
    let quick = harness.jobs.pop_front().expect("the quick task runs");
    harness.answer(&slow, State::Running, None);
    harness.answer(&quick, State::Success, None);
    assert_eq!(harness.execution_state(), State::Killing);
    assert!(harness.effects.contains(&Effect::KillTasks));
    harness.answer(&slow, State::Killed, None);
    assert_eq!(harness.execution_state(), State::Killed);
    for task in ["parallel", "slow", "branch", "exit"] {
        assert_eq!(
            harness.task_state(task, None),
            Some(State::Killed),
            "{task}"
        );
    }
    assert_eq!(harness.task_state("quick", None), Some(State::Success));
}

#[test]
fn after_another_exit_state_running_siblings_finish_and_nothing_starts() {
    let mut harness = Harness::new(flow(json!([
        {
            "id": "parallel",
            "type": "io.kestra.plugin.core.flow.Parallel",
            "tasks": [
                work("slow"),
                { "id": "branch", "type": "io.kestra.plugin.core.flow.Sequential",
                  "tasks": [work("quick"), exit(Some("FAILED")), work("never")] }
            ]
        },
        work("end")
    ])));
    harness.send(Event::Start);
    let slow = harness.jobs.pop_front().expect("the slow task runs");
    let quick = harness.jobs.pop_front().expect("the quick task runs");
    harness.answer(&quick, State::Success, None);
    assert_eq!(harness.execution_state(), State::Failed);
    assert_eq!(harness.task_state("branch", None), Some(State::Failed));
    assert_eq!(harness.task_state("parallel", None), Some(State::Failed));
    // The sibling still running finishes; nothing else starts.
    assert!(
        harness
            .task_state("slow", None)
            .is_some_and(|state| !state.is_terminated())
    );
    harness.answer(&slow, State::Success, None);
    assert!(harness.jobs.is_empty(), "nothing starts after an exit");
    assert_eq!(harness.task_state("slow", None), Some(State::Success));
    assert_eq!(harness.task_state("never", None), None);
    assert_eq!(harness.task_state("end", None), None);
    assert_eq!(harness.execution_state(), State::Failed);
    assert_eq!(ended(&harness), [State::Failed]);
}
