//! Killing a running script: the whole process tree ends, on cancellation and when the worker drops
//! the task's future (its timeout).

mod support;

use std::time::{Duration, Instant};

use peregrine_plugin_api::TaskError;
use serde_json::json;
use support::{build, context, process_alive};

/// A tree: the shell, a child shell, and a `sleep 30` under each; every pid is printed.
fn sleeping_tree() -> serde_json::Value {
    json!({
        "id": "sleepy",
        "type": "io.kestra.plugin.scripts.shell.Commands",
        "commands": [
            "echo \"shell $$\"",
            "sh -c 'sleep 30 & echo \"grandchild $!\"; wait' &",
            "echo \"child $!\"",
            "sleep 30 &",
            "echo \"sleeper $!\"",
            "wait",
        ],
    })
}

async fn pids(logs: &support::Logs) -> Vec<u32> {
    let mut pids = Vec::new();
    for label in ["shell ", "child ", "grandchild ", "sleeper "] {
        let line = logs
            .wait_for(label)
            .await
            .expect("the tree prints its pids");
        let pid = line
            .rsplit(' ')
            .next()
            .and_then(|pid| pid.parse().ok())
            .expect("a pid");
        pids.push(pid);
    }
    pids
}

/// Waits up to `limit` for every pid to be gone; returns those still alive.
async fn wait_gone(pids: &[u32], limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let alive: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|pid| process_alive(*pid))
            .collect();
        if alive.is_empty() || Instant::now() >= deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cancelling_kills_the_whole_tree_within_a_second() {
    let (context, logs) = context(sleeping_tree(), json!({}));
    let task = build(&context);
    let cancel = context.cancel.clone();
    let run = task.run(&context);
    let watch = async {
        let pids = pids(&logs).await;
        assert!(pids.iter().all(|pid| process_alive(*pid)), "{pids:?} run");
        let started = Instant::now();
        cancel.cancel();
        (pids, started)
    };
    let (result, (pids, started)) = tokio::join!(run, watch);
    let elapsed = started.elapsed();
    assert_eq!(result, Err(TaskError::Killed));
    assert!(elapsed < Duration::from_secs(1), "killed in {elapsed:?}");
    let alive = wait_gone(&pids, Duration::from_secs(1)).await;
    assert!(alive.is_empty(), "still running: {alive:?}");
}

#[tokio::test]
async fn dropping_the_future_kills_the_whole_tree() {
    let (context, logs) = context(sleeping_tree(), json!({}));
    let task = build(&context);
    let mut run = task.run(&context);
    let pids = tokio::select! {
        _ = &mut run => Vec::new(),
        pids = pids(&logs) => pids,
    };
    assert_eq!(pids.len(), 4, "the tree started");
    drop(run);
    let alive = wait_gone(&pids, Duration::from_secs(1)).await;
    assert!(alive.is_empty(), "still running: {alive:?}");
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_the_grace_period() {
    let task = json!({
        "id": "stubborn",
        "type": "io.kestra.plugin.scripts.shell.Commands",
        "commands": [
            "sh -c 'trap \"\" TERM; echo \"stubborn $$\"; while true; do sleep 0.1; done' &",
            "wait",
        ],
    });
    let (context, logs) = context(task, json!({}));
    let runnable = build(&context);
    let mut run = runnable.run(&context);
    let line = tokio::select! {
        _ = &mut run => Err(Vec::new()),
        line = logs.wait_for("stubborn ") => line,
    };
    let pid: u32 = line
        .expect("the stubborn process started")
        .rsplit(' ')
        .next()
        .and_then(|pid| pid.parse().ok())
        .expect("a pid");
    drop(run);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        process_alive(pid),
        "SIGTERM is ignored during the grace period"
    );
    let grace = peregrine_plugin_scripts::KILL_GRACE_PERIOD;
    let alive = wait_gone(&[pid], grace + Duration::from_secs(2)).await;
    assert!(alive.is_empty(), "SIGKILL after the grace period");
}
