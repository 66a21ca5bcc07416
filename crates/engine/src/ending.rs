//! The end of an execution: SLAs (deadline violations, assertions checked at the end), flow
//! outputs, a retry as a new execution, the terminal state.

use peregrine_model::flow::{SlaBehavior, SlaType};
use peregrine_model::state::State;
use serde_json::{Map, Value};

use crate::effects::{Effect, EngineLog, LogLevel};
use crate::executor_tasks;
use crate::expressions::is_truthy;
use crate::process::Step;
use crate::variables::execution_variables;

impl Step<'_, '_> {
    /// An SLA was not met: add its labels, then fail or cancel the execution if it says so.
    pub(crate) fn sla_violated(&mut self, index: usize) {
        let Some(sla) = self.plan.flow.sla.get(index) else {
            return;
        };
        self.sla_violated_labels(index);
        let ending = match sla.behavior {
            SlaBehavior::Fail => State::Failed,
            SlaBehavior::Cancel => State::Cancelled,
            SlaBehavior::None => return,
        };
        self.log_execution_error(&format!(
            "SLA '{}' violated: the execution ends {ending:?}",
            sla.id
        ));
        if self.state.execution.state.is_terminated() {
            return;
        }
        self.state.ending_as = Some(ending);
        self.kill();
    }

    /// EXECUTION_ASSERTION SLAs, checked when the execution ends; the state they impose, if any.
    fn check_assertions(&mut self) -> Option<State> {
        let mut imposed = None;
        for index in 0..self.plan.flow.sla.len() {
            let sla = &self.plan.flow.sla[index];
            let (SlaType::ExecutionAssertion, Some(assertion)) =
                (sla.sla_type, sla.assertion.as_ref())
            else {
                continue;
            };
            let variables =
                Value::Object(execution_variables(self.plan, self.state, self.env.globals));
            let holds = match self.env.expressions.render(assertion, &variables) {
                Ok(value) => is_truthy(&value),
                Err(message) => {
                    self.log_execution_error(&format!("SLA '{}': {message}", sla.id));
                    false
                }
            };
            if !holds {
                let behavior = sla.behavior;
                self.sla_violated_labels(index);
                match behavior {
                    SlaBehavior::Fail => imposed = Some(State::Failed),
                    SlaBehavior::Cancel => imposed = imposed.or(Some(State::Cancelled)),
                    SlaBehavior::None => {}
                }
            }
        }
        imposed
    }

    fn sla_violated_labels(&mut self, index: usize) {
        let Some(labels) = self
            .plan
            .flow
            .sla
            .get(index)
            .and_then(|sla| sla.labels.clone())
        else {
            return;
        };
        for label in labels.0 {
            executor_tasks::set_label(&mut self.state.execution.labels, label);
        }
    }

    fn log_execution_error(&mut self, message: &str) {
        self.effects.push(Effect::Log(EngineLog {
            task_run_id: None,
            task_id: None,
            level: LogLevel::Error,
            message: message.to_string(),
        }));
    }

    pub(crate) fn end_execution(&mut self, mut state: State) {
        let now = self.now();
        if let Some(imposed) = self.check_assertions() {
            state = imposed;
        }
        if state == State::Failed
            && let Some(at) = self.state.replay_at.take()
        {
            state = State::Retried;
            self.effects.push(Effect::ReplayExecution { at });
        }
        if !self.plan.flow.outputs.is_empty() && matches!(state, State::Success | State::Warning) {
            let variables =
                Value::Object(execution_variables(self.plan, self.state, self.env.globals));
            let mut outputs = Map::new();
            for output in &self.plan.flow.outputs {
                let rendered =
                    executor_tasks::render_tree(self.env.expressions, &output.value, &variables);
                match rendered {
                    Ok(value) => {
                        outputs.insert(output.id.clone(), value);
                    }
                    Err(message) => {
                        self.effects.push(Effect::Log(EngineLog {
                            task_run_id: None,
                            task_id: None,
                            level: LogLevel::Error,
                            message: format!("flow output '{}': {message}", output.id),
                        }));
                        state = State::Failed;
                    }
                }
            }
            if matches!(state, State::Success | State::Warning) {
                self.state.execution.outputs = Some(outputs);
            }
        }
        self.state.execution.state.set(state, now);
        self.effects.push(Effect::Ended(state));
    }
}
