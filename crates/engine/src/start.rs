//! A new execution of a flow: typed inputs, labels (with `system.correlationId`), CREATED state.

use jiff::Timestamp;
use peregrine_model::execution::{Execution, ExecutionMetadata, ExecutionTrigger, StateHistory};
use peregrine_model::flow::Label;
use peregrine_model::state::State;
use serde_json::{Map, Value};

use crate::frames::root_frame;
use crate::plan::FlowPlan;
use crate::state::ExecutionState;

/// What is known when an execution is created.
#[derive(Clone, Debug, Default)]
pub struct NewExecution {
    pub id: String,
    /// Inputs already typed (see [`crate::inputs::typed_inputs`]).
    pub inputs: Map<String, Value>,
    /// Labels given at creation, added to the flow's own.
    pub labels: Vec<Label>,
    pub trigger: Option<ExecutionTrigger>,
    pub parent_id: Option<String>,
    /// For an execution replaying an earlier one (a retry as a new execution): its attempt
    /// number, the first execution's id and creation date.
    pub replay_of: Option<ReplayOf>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplayOf {
    pub attempt_number: u32,
    pub original_id: String,
    pub original_created_date: Timestamp,
}

pub fn new_execution(plan: &FlowPlan, new: NewExecution, now: Timestamp) -> ExecutionState {
    let flow = &plan.flow;
    let mut labels: Vec<Label> = flow.labels.0.clone();
    for label in new.labels {
        labels.retain(|existing| existing.key != label.key);
        labels.push(label);
    }
    if !labels
        .iter()
        .any(|label| label.key == "system.correlationId")
    {
        labels.push(Label {
            key: "system.correlationId".into(),
            value: new.id.clone(),
        });
    }
    let execution = Execution {
        id: new.id.clone(),
        namespace: flow.namespace.clone(),
        flow_id: flow.id.clone(),
        flow_revision: flow.revision.unwrap_or(1),
        state: StateHistory::new(State::Created, now),
        task_run_list: Vec::new(),
        inputs: Some(new.inputs),
        outputs: None,
        labels,
        variables: None,
        parent_id: new.parent_id,
        original_id: Some(
            new.replay_of
                .as_ref()
                .map_or(new.id, |replay| replay.original_id.clone()),
        ),
        trigger: new.trigger,
        metadata: ExecutionMetadata {
            attempt_number: new
                .replay_of
                .as_ref()
                .map_or(1, |replay| replay.attempt_number),
            original_created_date: new
                .replay_of
                .as_ref()
                .map_or(now, |replay| replay.original_created_date),
        },
        schedule_date: None,
        deleted: false,
    };
    ExecutionState::new(execution, root_frame(&plan.root), Default::default())
}
