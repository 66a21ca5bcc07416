//! Flow concurrency limits: beyond `limit` running executions, a new one waits QUEUED and starts
//! when a running one ends (in creation order), or ends CANCELLED or FAILED at once.

use std::sync::Arc;
use std::time::Duration;

use peregrine_model::Validator;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_node::runtime::LocalRuntime;
use serde_json::Map;

fn flow(behavior: &str) -> String {
    format!(
        "id: limited\nnamespace: company.team\nconcurrency:\n  limit: 1\n  behavior: {behavior}\ntasks:\n  - id: nap\n    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT0.2S\n"
    )
}

fn runtime(behavior: &str) -> LocalRuntime {
    let registry = Arc::new(peregrine_node::catalogue());
    let flow = Validator::new(&registry)
        .validate_one(&flow(behavior))
        .flow
        .expect("valid");
    let runtime = LocalRuntime::start(registry);
    runtime.load(flow).expect("loaded");
    runtime
}

async fn end(runtime: &LocalRuntime, id: &str) -> Execution {
    runtime
        .wait_for(id, Duration::from_secs(10), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("ends")
}

fn states(execution: &Execution) -> Vec<State> {
    execution
        .state
        .histories
        .iter()
        .map(|entry| entry.state)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_executions_run_one_after_the_other() {
    let runtime = runtime("QUEUE");
    let ids: Vec<String> = (0..3)
        .map(|_| {
            runtime
                .execute("company.team", "limited", &Map::new())
                .expect("created")
        })
        .collect();
    let mut ended = Vec::new();
    for id in &ids {
        ended.push(end(&runtime, id).await);
    }
    assert_eq!(
        states(&ended[0]),
        vec![State::Created, State::Running, State::Success]
    );
    for execution in &ended[1..] {
        assert_eq!(
            states(execution),
            vec![
                State::Created,
                State::Queued,
                State::Running,
                State::Success
            ]
        );
    }
    for pair in ended.windows(2) {
        let previous_end = pair[0].state.end_date.expect("ended");
        let running = pair[1]
            .state
            .histories
            .iter()
            .find(|entry| entry.state == State::Running)
            .map(|entry| entry.date)
            .expect("ran");
        assert!(
            running >= previous_end,
            "started before the previous one ended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_fail_end_the_new_execution_at_once() {
    for (behavior, state) in [("CANCEL", State::Cancelled), ("FAIL", State::Failed)] {
        let runtime = runtime(behavior);
        let first = runtime
            .execute("company.team", "limited", &Map::new())
            .expect("created");
        let second = runtime
            .execute("company.team", "limited", &Map::new())
            .expect("created");
        let refused = end(&runtime, &second).await;
        assert_eq!(refused.state.current, state, "{behavior}");
        assert!(refused.task_run_list.is_empty());
        assert_eq!(end(&runtime, &first).await.state.current, State::Success);
        let third = runtime
            .execute("company.team", "limited", &Map::new())
            .expect("created");
        assert_eq!(
            end(&runtime, &third).await.state.current,
            State::Success,
            "the slot is free again"
        );
    }
}
