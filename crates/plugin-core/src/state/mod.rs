//! `io.kestra.plugin.core.state` (deprecated, use `kv`): JSON state files kept between executions.

mod delete;
mod get;
mod set;

pub use delete::StateDeleteSpec;
pub use get::StateGetSpec;
pub use set::StateSetSpec;

use peregrine_model::{Property, Registry};
use peregrine_plugin_api::{RunContext, TaskError};
use peregrine_ports::kv::{KvPut, KvValue};
use peregrine_ports::storage::{hash_to_string, slugify};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Which state file a state task reads or writes.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateFile {
    /// The name of the state file; "default" by default.
    pub name: Option<String>,
    /// Share the state with the whole namespace instead of the flow; false by default.
    pub namespace: Option<Property<bool>>,
    /// Keep one state per `taskrun.value` (inside loops); true by default.
    pub taskrun_value: Option<Property<bool>>,
}

pub fn register(registry: &mut Registry) {
    registry.register::<StateSetSpec>();
    registry.register::<StateGetSpec>();
    registry.register::<StateDeleteSpec>();
}

/// Where Kestra's state store keeps a state: a key of the namespace's key-value store,
/// `{flow}_states_tasks-states_{name}` (without the flow part when shared with the namespace),
/// followed by `_{hash of taskrun.value}` inside loops.
struct StateKey {
    namespace: String,
    key: String,
    name: String,
}

impl StateFile {
    fn locate(&self, context: &RunContext) -> Result<StateKey, TaskError> {
        let name = context.render(self.name.as_deref().unwrap_or("default"))?;
        let namespace_wide = match &self.namespace {
            Some(property) => context.render_property("namespace", property)?,
            None => false,
        };
        let per_value = match &self.taskrun_value {
            Some(property) => context.render_property("taskrunValue", property)?,
            None => true,
        };
        let mut key = String::new();
        if !namespace_wide {
            key.push_str(&slugify(&context.task_run.flow_id));
            key.push('_');
        }
        key.push_str("states_tasks-states_");
        key.push_str(&name);
        if let Some(value) = context.task_run.value.as_deref().filter(|_| per_value) {
            key.push('_');
            key.push_str(&hash_to_string(value));
        }
        Ok(StateKey {
            namespace: context.task_run.namespace.clone(),
            key,
            name,
        })
    }
}

impl StateKey {
    /// The stored state, `None` when there is none.
    async fn read(&self, context: &RunContext) -> Result<Option<Map<String, Value>>, TaskError> {
        let Some(record) = context.kv(&self.namespace).get(&self.key).await? else {
            return Ok(None);
        };
        let value = match record.value {
            // A state written as text (JSON bytes, as Kestra stores it) is read as JSON.
            KvValue::String(text) => serde_json::from_str(&text).map_err(|error| {
                TaskError::Failed(format!("state {} is not JSON: {error}", self.key))
            })?,
            other => other.to_json(),
        };
        match value {
            Value::Object(map) => Ok(Some(map)),
            other => Err(TaskError::Failed(format!(
                "state {} is not a JSON object: {other}",
                self.key
            ))),
        }
    }

    async fn write(&self, context: &RunContext, data: Map<String, Value>) -> Result<(), TaskError> {
        let put = KvPut::new(KvValue::Json(Value::Object(data)));
        context.kv(&self.namespace).set(&self.key, put).await
    }

    async fn delete(&self, context: &RunContext) -> Result<bool, TaskError> {
        context.kv(&self.namespace).delete(&self.key).await
    }
}

/// Kestra's `MapUtils.merge`: maps merge deeply, lists concatenate, a null keeps the old value,
/// anything else replaces it.
fn merge(mut current: Map<String, Value>, update: Map<String, Value>) -> Map<String, Value> {
    for (key, value) in update {
        let merged = match (current.remove(&key), value) {
            (Some(Value::Object(old)), Value::Object(new)) => Value::Object(merge(old, new)),
            (Some(Value::Array(mut old)), Value::Array(new)) => {
                old.extend(new);
                Value::Array(old)
            }
            (Some(old), Value::Null) => old,
            (_, new) => new,
        };
        current.insert(key, merged);
    }
    current
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn merges_like_kestra() {
        let current = json!({"a": 1, "list": [1], "nested": {"x": 1, "y": 1}, "kept": true});
        let update = json!({"a": 2, "list": [2], "nested": {"y": 2}, "kept": null, "new": "n"});
        let current = current.as_object().cloned().expect("an object");
        let update = update.as_object().cloned().expect("an object");
        assert_eq!(
            serde_json::Value::Object(super::merge(current, update)),
            json!({"a": 2, "list": [1, 2], "nested": {"x": 1, "y": 2}, "kept": true, "new": "n"})
        );
    }
}
