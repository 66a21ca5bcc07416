//! `execution.Exit`, run by the executor: the execution ends at once in the state the task names
//! (SUCCESS by default, WARNING, FAILED, CANCELED or KILLED), and nothing new starts.
//!
//! As in Kestra, KILLED kills what still runs: every unfinished task run ends KILLED and the
//! execution ends KILLED once the worker has stopped its tasks. Any other state ends the Exit task
//! run, each of its parents and the execution in that state right away; task runs still running
//! elsewhere (another branch of a Parallel) finish on their own.

use peregrine_model::execution::{Attempt, StateHistory};
use peregrine_model::expressions::Expressions;
use peregrine_model::flow::Task;
use peregrine_model::state::State;
use serde_json::Value;

use crate::effects::Effect;
use crate::executor_tasks::render_tree;
use crate::expressions::value_text;
use crate::process::Step;

impl Step<'_, '_> {
    /// Runs the Exit task run `id`.
    pub(crate) fn run_exit(&mut self, id: &str, task: &Task, variables: &Value) {
        let state = match exit_state(task, variables, self.env.expressions) {
            Ok(state) => state,
            Err(message) => return self.fail_run(id, &message),
        };
        let now = self.now();
        if let Some(run) = self.state.run_mut(id) {
            run.state.set(State::Running, now);
            let mut attempt = StateHistory::new(State::Running, now);
            attempt.set(state, now);
            run.attempts.push(Attempt {
                state: attempt,
                worker_id: None,
                log_file: None,
            });
        }
        if state == State::Killed {
            self.finish_now(id, State::Killed, None);
            self.kill();
            return;
        }
        // The Exit task run, then each parent up to the flow, end in the exit state.
        let mut current = Some(id.to_string());
        while let Some(run_id) = current {
            current = self
                .state
                .run(&run_id)
                .and_then(|run| run.parent_task_run_id.clone());
            if let Some(run) = self.state.run_mut(&run_id)
                && !run.state.is_terminated()
            {
                run.state.set(state, now);
            }
            let shared = self
                .state
                .frames
                .get(&run_id)
                .and_then(|frame| frame.shared_directory.as_ref())
                .map(|shared| shared.key.clone());
            if let Some(key) = shared {
                self.effects.push(Effect::ReleaseDirectory {
                    key,
                    namespace: self.state.execution.namespace.clone(),
                    flow_id: self.state.execution.flow_id.clone(),
                });
            }
        }
        self.state.execution.state.set(state, now);
        self.effects.push(Effect::Ended(state));
    }
}

/// The state an Exit task names: its `state` property rendered, SUCCESS when it has none.
pub(crate) fn exit_state(
    task: &Task,
    variables: &Value,
    expressions: &dyn Expressions,
) -> Result<State, String> {
    let raw = task.properties.get("state").cloned().unwrap_or(Value::Null);
    let rendered = render_tree(expressions, &raw, variables)?;
    if rendered.is_null() {
        return Ok(State::Success);
    }
    match value_text(&rendered).trim() {
        "SUCCESS" => Ok(State::Success),
        "WARNING" => Ok(State::Warning),
        "KILLED" => Ok(State::Killed),
        "FAILED" => Ok(State::Failed),
        "CANCELED" | "CANCELLED" => Ok(State::Cancelled),
        other => Err(format!(
            "invalid exit state '{other}': expected SUCCESS, WARNING, KILLED, FAILED or CANCELED"
        )),
    }
}
