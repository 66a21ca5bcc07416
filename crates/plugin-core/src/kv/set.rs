//! Set: stores a value in the key-value store.

use peregrine_model::{Duration, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use peregrine_ports::kv::{KvPut, KvValue};

use crate::runnable;

/// The type a stored value is read back as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum KvType {
    String,
    Number,
    Boolean,
    Datetime,
    Date,
    Duration,
    Json,
}

/// Stores `value` under `key` in a namespace's key-value store.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KvSetSpec {
    pub key: String,
    /// The value to store: a string, a number, a mapping... or an expression.
    pub value: Value,
    /// A description kept with the key.
    pub kv_description: Option<String>,
    /// The namespace of the store; the flow's by default.
    pub namespace: Option<String>,
    /// Replace an existing value; true by default.
    pub overwrite: Option<Property<bool>>,
    /// How long the value is kept.
    pub ttl: Option<Property<Duration>>,
    /// The type of the value; guessed from it by default.
    pub kv_type: Option<Property<KvType>>,
}
runnable!(KvSetSpec, "kv.Set");

impl From<KvType> for peregrine_ports::kv::KvType {
    fn from(kv_type: KvType) -> Self {
        use peregrine_ports::kv::KvType as Port;
        match kv_type {
            KvType::String => Port::String,
            KvType::Number => Port::Number,
            KvType::Boolean => Port::Boolean,
            KvType::Datetime => Port::Datetime,
            KvType::Date => Port::Date,
            KvType::Duration => Port::Duration,
            KvType::Json => Port::Json,
        }
    }
}

impl RunnableTask for KvSetSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let namespace = super::namespace(context, self.namespace.as_deref())?;
            let key = context.render(&self.key)?;
            let rendered = context.render_value(&self.value)?;
            let kv_type = match &self.kv_type {
                Some(property) => Some(context.render_property("kvType", property)?),
                None => None,
            };
            // Like Kestra, `kvType` converts text; a value already typed is stored as it is.
            let value = match (kv_type, rendered) {
                (Some(kv_type), Value::String(text)) => KvValue::parse(kv_type.into(), &text)?,
                (_, other) => KvValue::guess(other),
            };
            let description = match &self.kv_description {
                Some(template) => Some(context.render(template)?),
                None => None,
            };
            let ttl = match &self.ttl {
                Some(property) => Some(context.render_property("ttl", property)?),
                None => None,
            };
            let put = KvPut {
                value,
                description,
                ttl,
                overwrite: super::flag(context, "overwrite", self.overwrite.as_ref(), true)?,
            };
            context.kv(&namespace).set(&key, put).await?;
            Ok(TaskOutput::empty())
        })
    }
}
