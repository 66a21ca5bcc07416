//! ForEachItem, as Kestra runs it: three steps in order. `<id>_split` (a worker task) cuts the
//! items file into batch files; `<id>_items` (run here) starts one subflow per batch, with
//! `taskrun.items` the batch's URI, and counts their states by the subflows' ends
//! (`iterations`, `numberOfBatches`); `<id>_merge` (a worker task) joins the subflows' outputs
//! into one file. Each subflow's end is recorded on its own, so an end costs the same whatever
//! the number of batches.

use peregrine_model::execution::{Attempt, StateHistory, TaskRun};
use peregrine_model::flow::Task;
use peregrine_model::state::State;
use peregrine_model::tasks::ForEachItemSpec;
use peregrine_model::tasks::for_each_item_steps::{
    BATCHES_OUTPUT, MERGE_INPUT, MERGE_TYPE, SPLIT_TYPE, SUBFLOWS_TYPE,
};
use serde_json::{Map, Value, json};

use crate::effects::{Effect, SubflowEnded};
use crate::executor_tasks;
use crate::plan::NodeKind;
use crate::process::{Container, Step};
use crate::progress::ListKind;
use crate::state::{BatchRecord, Frame};

/// Positions of the steps in the ForEachItem's list.
const SPLIT_STEP: usize = 0;
const SUBFLOWS_STEP: usize = 1;

/// The three steps of a ForEachItem task, with how each runs.
pub(crate) fn steps(
    task: &Task,
    spec: &ForEachItemSpec,
) -> Result<Vec<(Task, NodeKind)>, serde_json::Error> {
    let id = &task.common.id;
    let property = |name: &str| task.properties.get(name).cloned();
    let mut split = Map::new();
    split.insert("id".into(), json!(format!("{id}_split")));
    split.insert("type".into(), json!(SPLIT_TYPE));
    for name in ["items", "batch"] {
        if let Some(value) = property(name) {
            split.insert(name.into(), value);
        }
    }
    let mut subflows: Map<String, Value> = task
        .properties
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "items" | "batch" | "errors"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    subflows.insert("id".into(), json!(format!("{id}_items")));
    subflows.insert("type".into(), json!(SUBFLOWS_TYPE));
    let merge = json!({ "id": format!("{id}_merge"), "type": MERGE_TYPE });
    Ok(vec![
        (
            serde_json::from_value(Value::Object(split))?,
            NodeKind::Runnable,
        ),
        (
            serde_json::from_value(Value::Object(subflows))?,
            NodeKind::Flowable(crate::plan::Flowable::SubflowPerBatch(Box::new(
                spec.clone(),
            ))),
        ),
        (serde_json::from_value(merge)?, NodeKind::MergeBatchOutputs),
    ])
}

/// The state counters of the subflows, as Kestra keeps them: each start moves one from CREATED
/// to RUNNING, each end from RUNNING to its final state.
fn count(iterations: &mut Map<String, Value>, from: State, to: State, batches: usize) {
    let key = |state: State| {
        serde_json::to_value(state)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let get = |iterations: &Map<String, Value>, state: State, default: usize| {
        iterations
            .get(&key(state))
            .and_then(Value::as_u64)
            .map_or(default, |count| count as usize)
    };
    let previous = get(iterations, from, batches);
    iterations.insert(key(from), json!(previous.saturating_sub(1)));
    let current = get(iterations, to, 0);
    iterations.insert(key(to), json!(current + 1));
}

/// The step's state once every subflow has ended: the worst of theirs when failures are
/// transmitted (FAILED > KILLED > WARNING), SUCCESS otherwise.
fn final_state(iterations: &Map<String, Value>, transmit_failed: bool) -> State {
    if !transmit_failed {
        return State::Success;
    }
    let has = |name: &str| {
        iterations
            .get(name)
            .and_then(Value::as_u64)
            .is_some_and(|count| count > 0)
    };
    if has("FAILED") {
        State::Failed
    } else if has("KILLED") {
        State::Killed
    } else if has("WARNING") {
        State::Warning
    } else {
        State::Success
    }
}

fn ended_count(iterations: &Map<String, Value>) -> usize {
    [
        "SUCCESS",
        "FAILED",
        "KILLED",
        "WARNING",
        "CANCELLED",
        "SKIPPED",
        "RETRIED",
    ]
    .iter()
    .filter_map(|name| iterations.get(*name).and_then(Value::as_u64))
    .map(|count| count as usize)
    .sum()
}

fn step_outputs(iterations: Map<String, Value>, batches: usize) -> Map<String, Value> {
    let mut outputs = Map::new();
    outputs.insert("iterations".into(), Value::Object(iterations));
    outputs.insert("numberOfBatches".into(), json!(batches));
    outputs
}

impl Step<'_, '_> {
    /// A step of the same ForEachItem as `run` (its split or subflows step).
    fn sibling(&mut self, run: &TaskRun, index: usize) -> Option<&TaskRun> {
        // The progress may be stale here (a restart removed task runs just before).
        self.state.sync(self.plan);
        let position = self
            .state
            .progress(run.parent_task_run_id.as_deref())?
            .list(ListKind::Main)
            .run_at(index)?;
        self.state.run_at(position)
    }

    /// Starts one subflow per batch file listed by the split step.
    pub(crate) fn start_batches(
        &mut self,
        id: &str,
        spec: &ForEachItemSpec,
        run: &TaskRun,
        variables: &Value,
    ) {
        let now = self.now();
        let uris: Option<Vec<String>> = self
            .sibling(run, SPLIT_STEP)
            .and_then(|split| {
                split
                    .outputs
                    .as_ref()?
                    .get(BATCHES_OUTPUT)?
                    .as_array()
                    .cloned()
            })
            .map(|uris| {
                uris.iter()
                    .filter_map(|uri| uri.as_str().map(str::to_string))
                    .collect()
            });
        let Some(uris) = uris else {
            return self.fail_run(id, "the split step gave no list of batches");
        };
        self.remove_batch_records(id);
        if uris.is_empty() {
            return self.finish_now(id, State::Success, None);
        }
        let subflow = spec.subflow();
        let mut starts = Vec::with_capacity(uris.len());
        for (index, uri) in uris.iter().enumerate() {
            let iteration = index + 1;
            let mut batch_variables = variables.clone();
            if let Some(taskrun) = batch_variables
                .get_mut("taskrun")
                .and_then(Value::as_object_mut)
            {
                taskrun.insert("items".into(), json!(uri));
                taskrun.insert("iteration".into(), json!(iteration));
            }
            let child_id = (self.env.new_id)();
            match executor_tasks::subflow_start(
                self.state,
                &subflow,
                run,
                &batch_variables,
                self.env.expressions,
                child_id,
            ) {
                Ok(start) => starts.push(start),
                Err(message) => return self.fail_run(id, &message),
            }
        }
        let batches = starts.len();
        let mut iterations = Map::new();
        if spec.wait {
            for (index, start) in starts.iter().enumerate() {
                count(&mut iterations, State::Created, State::Running, batches);
                let record = BatchRecord {
                    iteration: u32::try_from(index + 1).unwrap_or(u32::MAX),
                    state: None,
                    outputs: None,
                };
                let frame = Frame {
                    batch: Some(record),
                    ..Frame::default()
                };
                self.state
                    .insert_frame(Frame::batch_key(id, &start.execution_id), frame);
            }
        } else {
            // Not waiting: each subflow counts as a success as soon as it is started.
            for _ in 0..batches {
                count(&mut iterations, State::Running, State::Success, batches);
            }
        }
        self.effects.extend(
            starts
                .into_iter()
                .map(|start| Effect::StartSubflow(Box::new(start))),
        );
        if let Some(run) = self.state.run_mut(id) {
            run.state.set(State::Running, now);
            run.attempts.push(Attempt {
                state: StateHistory::new(State::Running, now),
                worker_id: None,
                log_file: None,
            });
            run.outputs = Some(step_outputs(iterations.clone(), batches));
        }
        if !spec.wait {
            self.end_batches(id, State::Success);
        }
    }

    /// One of the subflows has ended: count it, keep its outputs; the step ends with the last.
    pub(crate) fn batch_ended(
        &mut self,
        run: &TaskRun,
        spec: &ForEachItemSpec,
        ended: &SubflowEnded,
    ) {
        let key = Frame::batch_key(&run.id, &ended.execution_id);
        let waiting = self
            .state
            .frames
            .get(&key)
            .and_then(|frame| frame.batch.as_ref())
            .is_some_and(|record| record.state.is_none());
        if !waiting || run.state.current != State::Running {
            // Unknown, or told twice.
            return;
        }
        if let Some(record) = self
            .state
            .frame_mut(&key)
            .and_then(|frame| frame.batch.as_mut())
        {
            record.state = Some(ended.state);
            if !ended.flow_outputs.is_empty() {
                record.outputs = Some(ended.flow_outputs.clone());
            }
        }
        let outputs = run.outputs.clone().unwrap_or_default();
        let batches = outputs
            .get("numberOfBatches")
            .and_then(Value::as_u64)
            .map_or(0, |count| count as usize);
        let mut iterations = outputs
            .get("iterations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        count(&mut iterations, State::Running, ended.state, batches);
        let done = ended_count(&iterations) >= batches;
        let state = final_state(&iterations, spec.transmit_failed);
        if let Some(run) = self.state.run_mut(&run.id) {
            run.outputs = Some(step_outputs(iterations, batches));
        }
        if done {
            self.end_batches(&run.id, state);
        }
    }

    fn end_batches(&mut self, id: &str, state: State) {
        let now = self.now();
        let mut parent = None;
        if let Some(run) = self.state.run_mut(id) {
            if let Some(attempt) = run.attempts.last_mut() {
                attempt.state.set(state, now);
            }
            run.state.set(state, now);
            parent = Some(run.parent_task_run_id.clone());
        }
        if let Some(position) = self.state.position(id) {
            self.state.record_outputs(position);
        }
        if let Some(parent) = parent {
            self.work
                .push_back(parent.map_or(Container::Root, Container::Run));
        }
    }

    /// Records of an earlier start of the step (a restart): they no longer count.
    fn remove_batch_records(&mut self, id: &str) {
        let prefix = Frame::batch_key(id, "");
        let stale: Vec<String> = self
            .state
            .frames
            .keys()
            .filter(|key| key.starts_with(&prefix))
            .cloned()
            .collect();
        for key in stale {
            self.state.remove_frame(&key);
        }
    }

    /// The merge step's task, given the outputs of the subflows in batch order.
    pub(crate) fn merge_task(&mut self, run: &TaskRun, task: &Task) -> Task {
        let mut outputs: Vec<(u32, Value)> = Vec::new();
        let subflows = self
            .sibling(run, SUBFLOWS_STEP)
            .map(|subflows| subflows.id.clone());
        if let Some(subflows) = subflows {
            let prefix = Frame::batch_key(&subflows, "");
            for (key, frame) in &self.state.frames {
                if !key.starts_with(&prefix) {
                    continue;
                }
                if let Some(BatchRecord {
                    iteration,
                    outputs: Some(map),
                    ..
                }) = &frame.batch
                {
                    outputs.push((*iteration, Value::Object(map.clone())));
                }
            }
        }
        outputs.sort_by_key(|(iteration, _)| *iteration);
        let mut task = task.clone();
        task.properties.insert(
            MERGE_INPUT.into(),
            Value::Array(outputs.into_iter().map(|(_, value)| value).collect()),
        );
        task
    }
}
