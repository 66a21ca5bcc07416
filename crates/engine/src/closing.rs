//! Closing a WorkingDirectory's folder. When a WorkingDirectory has `outputFiles` or a `cache`,
//! its folder has work to do once its tasks have ended: the worker holding the folder gets a
//! closing job for the WorkingDirectory's own task run (uploads the output files, saves the cache)
//! and the WorkingDirectory ends when that job reports, with the outputs it reports, FAILED when
//! the closing failed. As in Kestra, the folder closes after failed tasks too, not after a kill.

use peregrine_model::state::State;

use crate::effects::{Effect, SharedDirectory, TaskUpdate, WorkerJob};
use crate::process::{Container, Step};
use crate::state::Closing;
use crate::variables::task_variables;

impl Step<'_, '_> {
    /// Whether the WorkingDirectory `id`, whose lists have ended, still waits for its folder to
    /// close; sends the closing job the first time. A failed closing turns `state` to FAILED.
    pub(crate) fn awaits_closing(&mut self, id: &str, state: &mut State) -> bool {
        let Some(frame) = self.state.frames.get(id) else {
            return false;
        };
        let Some(shared) = frame
            .shared_directory
            .clone()
            .filter(SharedDirectory::closes)
        else {
            return false;
        };
        match frame.closing {
            Some(Closing::Sent) => true,
            Some(Closing::Done { failed }) => {
                if failed {
                    *state = State::Failed;
                }
                false
            }
            None => {
                self.send_closing_job(id, shared);
                true
            }
        }
    }

    fn send_closing_job(&mut self, id: &str, shared: SharedDirectory) {
        let Some(run) = self.state.run(id).cloned() else {
            return;
        };
        let Some(node) = self
            .plan
            .find(&run.task_id)
            .map(|node| self.plan.node(node))
        else {
            return;
        };
        let variables = task_variables(
            self.plan,
            self.state,
            self.env.globals,
            &run,
            &node.task.common.type_name,
        );
        if let Some(frame) = self.state.frame_mut(id) {
            frame.closing = Some(Closing::Sent);
        }
        self.effects.push(Effect::RunTask(Box::new(WorkerJob {
            task_run: run,
            task: node.task.clone(),
            variables,
            working_directory: Some(shared),
            closes_directory: true,
        })));
    }

    /// Takes a report on a WorkingDirectory's own task run: its closing job's. Returns false
    /// when the report is about any other task run.
    pub(crate) fn closing_reported(&mut self, update: &TaskUpdate) -> bool {
        let id = &update.task_run_id;
        let Some(frame) = self.state.frames.get(id) else {
            return false;
        };
        if frame.shared_directory.is_none() {
            return false;
        }
        let waiting = frame.closing == Some(Closing::Sent);
        let running = self
            .state
            .run(id)
            .is_some_and(|run| run.state.current == State::Running);
        // RUNNING, a late or a repeated report: nothing to do.
        if !waiting || !running || !update.state.is_terminated() {
            return true;
        }
        let failed = !matches!(update.state, State::Success | State::Warning);
        if let Some(frame) = self.state.frame_mut(id) {
            frame.closing = Some(Closing::Done { failed });
        }
        if let Some(outputs) = &update.outputs
            && let Some(run) = self.state.run_mut(id)
        {
            let mut merged = run.outputs.clone().unwrap_or_default();
            merged.extend(outputs.clone());
            run.outputs = Some(merged);
            if let Some(position) = self.state.position(id) {
                self.state.record_outputs(position);
            }
        }
        self.work.push_back(Container::Run(id.clone()));
        true
    }
}
