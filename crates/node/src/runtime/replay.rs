//! Replays asked through the API (Kestra's replay): a new execution made of an ended one. From
//! the start, it is a new execution of the same inputs and labels; from a task run, the engine's
//! [`replay_from`] decides what is kept, the new execution with its frames is committed, then
//! taken back by the executor and continued by a restart.

use std::collections::HashMap;
use std::sync::Arc;

use peregrine_engine::replay::{ReplayFrom, Replayed, replay_from};
use peregrine_engine::state::Frame;
use peregrine_engine::{Event, NewExecution, ReplayOf};
use peregrine_model::execution::Execution;
use peregrine_ports::repository::Error;
use peregrine_ports::store::{Commit, StoredExecution, Transition};
use serde_json::Value;
use tokio::sync::watch;

use super::{LocalRuntime, Origin, RuntimeError};

impl LocalRuntime {
    /// Replays a stored execution from `task_run_id` or from the start, on `revision` of its flow
    /// or, as Kestra does, on the revision it ran. Returns the new execution once committed.
    pub async fn replay_execution(
        &self,
        execution_id: &str,
        task_run_id: Option<&str>,
        revision: Option<u32>,
    ) -> Result<Execution, RuntimeError> {
        let new_id = peregrine_executor::new_id();
        self.replay_as(execution_id, task_run_id, revision, new_id)
            .await
    }

    /// [`Self::replay_execution`], the new execution having the id `new_id` (chosen by the
    /// process that asked for the replay, which waits for it).
    pub(super) async fn replay_as(
        &self,
        execution_id: &str,
        task_run_id: Option<&str>,
        revision: Option<u32>,
        new_id: String,
    ) -> Result<Execution, RuntimeError> {
        let Some(generation) = self.partitions.generation(&new_id) else {
            return Err(RuntimeError::Foreign(new_id));
        };
        let stored = self
            .store
            .load(execution_id)
            .await?
            .ok_or_else(|| RuntimeError::UnknownExecution(execution_id.to_string()))?;
        let old = &stored.execution;
        let plan = self
            .revision_plan(
                &old.namespace,
                &old.flow_id,
                revision.unwrap_or(old.flow_revision),
            )
            .await
            .map_err(|reason| RuntimeError::Store(Error::Backend(reason)))?;
        let Some(task_run_id) = task_run_id else {
            let new = NewExecution {
                id: new_id,
                inputs: old.inputs.clone().unwrap_or_default(),
                labels: old.labels.clone(),
                trigger: old.trigger.clone(),
                parent_id: Some(old.id.clone()),
                replay_of: Some(ReplayOf {
                    attempt_number: old.metadata.attempt_number + 1,
                    original_id: old.original_id.clone().unwrap_or_else(|| old.id.clone()),
                    original_created_date: old.metadata.original_created_date,
                }),
            };
            let id = self.create_typed(plan, new, Origin::default())?;
            self.durable(&id).await;
            if let Some(execution) = self.execution(&id) {
                return Ok(execution);
            }
            // Already ended and out of memory: the store has it.
            return peregrine_ports::repository::ExecutionRepository::get(self.store.as_ref(), &id)
                .await?
                .ok_or(RuntimeError::UnknownExecution(id));
        };

        let unreadable = |error: serde_json::Error| {
            RuntimeError::Store(Error::Backend(format!(
                "execution '{execution_id}' has an unreadable frame: {error}"
            )))
        };
        let root: Frame = match &stored.root {
            Some(root) => serde_json::from_value(root.clone()).map_err(unreadable)?,
            None => peregrine_engine::frames::root_frame(&plan.root),
        };
        let frames = stored
            .frames
            .iter()
            .map(|(id, frame)| Ok((id.clone(), serde_json::from_value(frame.clone())?)))
            .collect::<Result<HashMap<String, Frame>, serde_json::Error>>()
            .map_err(unreadable)?;
        let from = ReplayFrom {
            old,
            frames: &frames,
            root: &root,
            task_run_id,
        };
        let mut new_run_id = peregrine_executor::new_id;
        let replayed = replay_from(&plan, from, new_id, &mut new_run_id, now_millis())?;

        let id = replayed.execution.id.clone();
        let transition = first_transition(&replayed).map_err(unreadable)?;
        let (frames, root) = (transition.frames.clone(), transition.root.clone());
        let commit = Commit {
            transitions: vec![transition],
            ..Commit::default()
        };
        self.store.commit(Arc::new(commit)).await?;

        let to_restart = StoredExecution {
            execution: replayed.to_restart,
            frames,
            root,
            parent: None,
        };
        {
            let mut shared = self
                .shared
                .lock()
                .map_err(|_| RuntimeError::UnknownExecution(id.clone()))?;
            // Its partition was given up meanwhile: whoever takes it continues the replay
            // from its first commit.
            if self.partitions.generation(&id) != Some(generation) {
                return Ok(replayed.execution);
            }
            shared
                .executor
                .restore(plan, to_restart)
                .map_err(|error| RuntimeError::Store(Error::Backend(error.to_string())))?;
            shared.subscribers.notify_hooks(&replayed.execution);
            let (watcher, _) = watch::channel(replayed.execution.clone());
            shared.watchers.insert(id.clone(), watcher);
        }
        let message = super::Message::Event {
            id: id.clone(),
            event: Event::Restart,
            generation,
        };
        let _ = self.sender.send(message);
        Ok(replayed.execution)
    }
}

/// The first commit of a replay: the new execution with every task run it keeps, its frames and
/// its root frame.
pub fn first_transition(replayed: &Replayed) -> Result<Transition, serde_json::Error> {
    let frames = replayed
        .frames
        .iter()
        .map(|(id, frame)| Ok((id.clone(), serde_json::to_value(frame)?)))
        .collect::<Result<Vec<(String, Value)>, serde_json::Error>>()?;
    let mut header = replayed.execution.clone();
    let task_runs = std::mem::take(&mut header.task_run_list)
        .into_iter()
        .enumerate()
        .collect();
    Ok(Transition {
        execution_id: header.id.clone(),
        header: Some(header),
        task_runs,
        removed: Vec::new(),
        frames,
        root: Some(serde_json::to_value(&replayed.root)?),
        parent: None,
    })
}

/// The wall clock truncated to milliseconds, as the executor dates states.
fn now_millis() -> jiff::Timestamp {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now)
}
