//! A replay whose server stopped right after its first commit (the new execution RESTARTED, not
//! continued yet) is continued by the next server on the same SQLite store: it ends, running
//! again only from the chosen task run.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use peregrine_engine::FlowPlan;
use peregrine_engine::replay::{ReplayFrom, replay_from};
use peregrine_engine::state::Frame;
use peregrine_model::Validator;
use peregrine_model::state::State;
use peregrine_node::backends::Backends;
use peregrine_node::server::LocalServices;
use peregrine_ports::repository::{ExecutionCommands, FlowRepository, StartRequest};
use peregrine_ports::store::Commit;

const FLOW: &str = r#"
id: steps
namespace: company.team
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: a
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: b
        type: io.kestra.plugin.core.debug.Return
        format: b
      - id: c
        type: io.kestra.plugin.core.debug.Return
        format: c
  - id: d
    type: io.kestra.plugin.core.debug.Return
    format: d
"#;

const WAIT: Duration = Duration::from_secs(20);

/// The first server: the flow runs to its end, then a replay from `c` is committed the way the
/// API commits it, and the server stops before the replay's first step.
async fn run_then_commit_a_replay(backends: &Backends) -> String {
    let registry = Arc::new(peregrine_node::catalogue());
    let (services, _) = LocalServices::open(registry.clone(), backends)
        .await
        .expect("the server opens");
    services
        .flows
        .save(
            "company.team",
            "steps",
            FLOW.to_string(),
            jiff::Timestamp::now(),
        )
        .await
        .expect("saved");
    let started = services
        .commands
        .start(StartRequest {
            namespace: "company.team".into(),
            flow_id: "steps".into(),
            ..StartRequest::default()
        })
        .await
        .expect("started");
    let ended = services
        .runtime
        .wait_for(&started.id, WAIT, |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("it ends");
    assert_eq!(ended.state.current, State::Success);

    let stored = backends
        .store
        .load(&started.id)
        .await
        .expect("read")
        .expect("stored");
    let flow = Validator::new(&registry)
        .validate_one(FLOW)
        .flow
        .expect("a valid flow");
    let plan = FlowPlan::new(Arc::new(flow), &|kind: &str| {
        peregrine_node::role_of(&registry, kind)
    })
    .expect("a plan");
    let frames: HashMap<String, Frame> = stored
        .frames
        .iter()
        .map(|(id, frame)| {
            (
                id.clone(),
                serde_json::from_value(frame.clone()).expect("a frame"),
            )
        })
        .collect();
    let root: Frame = serde_json::from_value(stored.root.clone().expect("a root")).expect("a root");
    let chosen = stored
        .execution
        .task_run_list
        .iter()
        .find(|run| run.task_id == "c")
        .expect("c ran")
        .id
        .clone();
    let mut count = 0;
    let mut new_run_id = || {
        count += 1;
        format!("replayed-run-{count}")
    };
    let from = ReplayFrom {
        old: &stored.execution,
        frames: &frames,
        root: &root,
        task_run_id: &chosen,
    };
    let replayed = replay_from(
        &plan,
        from,
        "replayed".into(),
        &mut new_run_id,
        jiff::Timestamp::now(),
    )
    .expect("replayed");
    let transition =
        peregrine_node::runtime::first_transition(&replayed).expect("a first transition");
    let commit = Commit {
        transitions: vec![transition],
        ..Commit::default()
    };
    backends
        .store
        .commit(Arc::new(commit))
        .await
        .expect("committed");
    replayed.execution.id
}

#[test]
fn a_replay_committed_but_not_continued_is_continued_after_a_restart() {
    let folder = std::env::temp_dir().join(format!("peregrine-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a folder");
    let backends = common::sqlite_backends(&folder);
    let first = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let replay = first.block_on(run_then_commit_a_replay(&backends));
    first.shutdown_timeout(Duration::from_secs(5));

    let second = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let ended = second.block_on(async {
        let registry = Arc::new(peregrine_node::catalogue());
        let (services, reopened) = LocalServices::open(registry, &backends)
            .await
            .expect("the server opens again");
        assert_eq!(reopened.recovered.executions, 1, "{reopened:?}");
        // Taken back as the replay handed it to the executor (the chosen task run FAILED), then
        // restarted: the end that counts is the one after RESTARTED.
        services
            .runtime
            .wait_for(&replay, WAIT, |execution| {
                execution.state.is_terminated()
                    && execution
                        .state
                        .histories
                        .iter()
                        .any(|entry| entry.state == State::Restarted)
            })
            .await
            .expect("the replay ends")
    });
    second.shutdown_timeout(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&folder);

    assert_eq!(ended.state.current, State::Success, "{ended:#?}");
    let history: Vec<State> = ended
        .state
        .histories
        .iter()
        .map(|entry| entry.state)
        .collect();
    assert_eq!(
        history,
        [
            State::Created,
            State::Running,
            State::Success,
            State::Restarted,
            State::Running,
            State::Success
        ]
    );
    let runs: Vec<(&str, State, usize)> = ended
        .task_run_list
        .iter()
        .map(|run| (run.task_id.as_str(), run.state.current, run.attempts.len()))
        .collect();
    assert_eq!(
        runs,
        [
            ("a", State::Success, 1),
            ("group", State::Success, 0),
            ("b", State::Success, 1),
            ("c", State::Success, 2),
            ("d", State::Success, 1),
        ]
    );
}
