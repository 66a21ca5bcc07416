//! Subflow and ForEachItem: tasks that start executions of other flows.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::flowable;
use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::flow::{Labels, Task};
use crate::property::{Property, is_expression};
use crate::yaml::Node;

/// Starts an execution of another flow, and by default waits for it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubflowSpec {
    pub namespace: Property<String>,
    pub flow_id: Property<String>,
    #[serde(default)]
    pub revision: Option<Property<u32>>,
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    #[serde(default)]
    pub labels: Option<Labels>,
    #[serde(default = "yes")]
    pub wait: bool,
    #[serde(default = "yes")]
    pub transmit_failed: bool,
    #[serde(default)]
    pub inherit_labels: bool,
    /// Deprecated: outputs computed from the subflow execution.
    #[serde(default)]
    pub outputs: Option<Map<String, Value>>,
    #[serde(default)]
    pub schedule_date: Option<Property<String>>,
    #[serde(default)]
    pub restart_behavior: Option<String>,
}
flowable!(SubflowSpec, "Subflow", "io.kestra.core.tasks.flows.Flow", "io.kestra.plugin.core.flow.Flow"; check = check_recursion);

fn yes() -> bool {
    true
}

/// How ForEachItem cuts its items file into batches.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForEachItemBatch {
    #[serde(default)]
    pub rows: Option<Property<u32>>,
    #[serde(default)]
    pub bytes: Option<Property<String>>,
    #[serde(default)]
    pub partitions: Option<Property<u32>>,
    #[serde(default)]
    pub separator: Option<Property<String>>,
}

/// The steps a ForEachItem runs as (Kestra's type names), and what passes between them.
pub mod for_each_item_steps {
    /// The worker task cutting the items file into batch files.
    pub const SPLIT_TYPE: &str = "io.kestra.plugin.core.flow.ForEachItem$ForEachItemSplit";
    /// The step the executor runs: one subflow per batch.
    pub const SUBFLOWS_TYPE: &str = "io.kestra.plugin.core.flow.ForEachItem$ForEachItemExecutable";
    /// The worker task joining the subflows' outputs into one file.
    pub const MERGE_TYPE: &str = "io.kestra.plugin.core.flow.ForEachItem$ForEachItemMergeOutputs";
    /// The split step's output listing the batch files' URIs (besides Kestra's `splits` file).
    pub const BATCHES_OUTPUT: &str = "uris";
    /// The merge step's property carrying the subflows' outputs, in batch order.
    pub const MERGE_INPUT: &str = "outputs";
}

/// Starts one subflow execution per batch of lines of a file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForEachItemSpec {
    /// The `kestra://` URI of the file to split.
    pub items: Property<String>,
    #[serde(default)]
    pub batch: Option<ForEachItemBatch>,
    pub namespace: Property<String>,
    pub flow_id: Property<String>,
    #[serde(default)]
    pub revision: Option<Property<u32>>,
    #[serde(default)]
    pub inputs: Option<Map<String, Value>>,
    #[serde(default)]
    pub labels: Option<Labels>,
    #[serde(default = "yes")]
    pub wait: bool,
    #[serde(default = "yes")]
    pub transmit_failed: bool,
    #[serde(default)]
    pub inherit_labels: bool,
    #[serde(default)]
    pub schedule_date: Option<Property<String>>,
    #[serde(default)]
    pub restart_behavior: Option<String>,
    /// Tasks run when a batch step fails.
    #[serde(default)]
    pub errors: Vec<Task>,
}
flowable!(ForEachItemSpec, "ForEachItem"; check = check_recursion);

impl ForEachItemSpec {
    /// The subflow each batch starts, as a Subflow task would start it.
    pub fn subflow(&self) -> SubflowSpec {
        SubflowSpec {
            namespace: self.namespace.clone(),
            flow_id: self.flow_id.clone(),
            revision: self.revision.clone(),
            inputs: self.inputs.clone(),
            labels: self.labels.clone(),
            wait: self.wait,
            transmit_failed: self.transmit_failed,
            inherit_labels: self.inherit_labels,
            outputs: None,
            schedule_date: self.schedule_date.clone(),
            restart_behavior: self.restart_behavior.clone(),
        }
    }
}

/// A subflow naming its own flow (literally) would start itself forever.
fn check_recursion(context: &mut CheckContext<'_>) {
    let literal = |key: &str| {
        context
            .node
            .get(key)
            .and_then(Node::scalar_text)
            .filter(|text| !is_expression(text))
    };
    let (Some(namespace), Some(flow_id)) = (literal("namespace"), literal("flowId")) else {
        return;
    };
    let same_namespace = context.flow.namespace.as_deref() == Some(namespace.as_str());
    let same_id = context.flow.id.as_deref() == Some(flow_id.as_str());
    if same_namespace && same_id {
        let pos = context.pos_of("flowId");
        let message = format!("Invalid Flow: Recursive call to flow [{namespace}.{flow_id}]");
        context.report(Code::RecursiveFlow, pos, Some("flowId"), message);
    }
}
