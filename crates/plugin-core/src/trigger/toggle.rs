//! Toggle: enables or disables a trigger through the scheduler's trigger states.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use peregrine_ports::triggers::{self, TriggerKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Enables or disables a trigger of a flow; the current flow by default.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToggleSpec {
    /// Namespace of the flow; the current one by default.
    pub namespace: Option<String>,
    /// The flow; the current one by default.
    pub flow_id: Option<String>,
    /// The id of the trigger.
    pub trigger: String,
    /// Enable (true) or disable (false) the trigger; false by default.
    pub enabled: Option<Property<bool>>,
}
runnable!(
    ToggleSpec,
    "trigger.Toggle",
    "io.kestra.core.tasks.trigger.Toggle"
);

impl RunnableTask for ToggleSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let namespace = match &self.namespace {
                Some(namespace) => context.render(namespace)?,
                None => context.task_run.namespace.clone(),
            };
            let flow_id = match &self.flow_id {
                Some(flow_id) => context.render(flow_id)?,
                None => context.task_run.flow_id.clone(),
            };
            let trigger = context.render(&self.trigger)?;
            let enabled = match &self.enabled {
                Some(property) => context.render_property("enabled", property)?,
                None => false,
            };
            let key = TriggerKey::new(&namespace, &flow_id, &trigger);
            let now = jiff::Timestamp::now();
            let store = context.services().triggers.as_ref();
            let updated = triggers::update(store, &key, |state| {
                if state.disabled != enabled {
                    return false;
                }
                state.disabled = !enabled;
                // A disabled trigger has no next slot; enabled again, the scheduler resumes it
                // from its last slot as `recoverMissedSchedules` says.
                state.next_execution_date = None;
                state.updated_date = now;
                true
            })
            .await?;
            if updated.is_none() {
                return Err(TaskError::Failed(format!(
                    "Unable to find trigger {trigger} for the flow {namespace}.{flow_id}"
                )));
            }
            Ok(TaskOutput::empty())
        })
    }
}
