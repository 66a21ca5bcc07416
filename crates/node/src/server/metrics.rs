//! Executor counters for `/metrics`, fed by a runtime hook on every execution change.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;

use peregrine_model::execution::Execution;
use peregrine_model::state::State;

#[derive(Default)]
struct Counts {
    /// Executions seen and not ended yet.
    live: HashSet<String>,
    started: u64,
    ended: HashMap<State, u64>,
    task_runs_ended: HashMap<State, u64>,
}

/// Executions started, executions and task runs ended by state, executions running.
#[derive(Default)]
pub struct ExecutionMetrics(Mutex<Counts>);

impl ExecutionMetrics {
    /// Records a new version of an execution: counted as started when first seen, as ended
    /// (with its task runs) when it first reaches a terminal state.
    pub fn observe(&self, execution: &Execution) {
        let Ok(mut counts) = self.0.lock() else {
            return;
        };
        let counts = &mut *counts;
        if execution.state.is_terminated() {
            if !counts.live.remove(&execution.id) {
                return;
            }
            *counts.ended.entry(execution.state.current).or_default() += 1;
            for task_run in &execution.task_run_list {
                *counts
                    .task_runs_ended
                    .entry(task_run.state.current)
                    .or_default() += 1;
            }
        } else if counts.live.insert(execution.id.clone()) {
            counts.started += 1;
        }
    }

    /// Appends the Prometheus text of these counters.
    pub fn render(&self, out: &mut String) {
        let Ok(counts) = self.0.lock() else {
            return;
        };
        let _ = write!(
            out,
            "# HELP peregrine_executor_executions_started_total Executions created.\n\
             # TYPE peregrine_executor_executions_started_total counter\n\
             peregrine_executor_executions_started_total {}\n\
             # HELP peregrine_executor_executions_running Executions created and not ended.\n\
             # TYPE peregrine_executor_executions_running gauge\n\
             peregrine_executor_executions_running {}\n",
            counts.started,
            counts.live.len()
        );
        by_state(
            out,
            "peregrine_executor_executions_ended_total",
            "Executions ended, by final state.",
            &counts.ended,
        );
        by_state(
            out,
            "peregrine_executor_task_runs_ended_total",
            "Task runs of ended executions, by final state.",
            &counts.task_runs_ended,
        );
    }
}

fn by_state(out: &mut String, name: &str, help: &str, counts: &HashMap<State, u64>) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n");
    let mut lines: Vec<(String, u64)> = counts
        .iter()
        .map(|(state, count)| (super::state_name(*state), *count))
        .collect();
    lines.sort();
    for (state, count) in lines {
        let _ = writeln!(out, "{name}{{state=\"{state}\"}} {count}");
    }
}
