//! The typed flow model.

#[allow(clippy::module_inception)]
mod flow;
mod input;
mod input_types;
mod labels;
mod parts;
mod plugin;
mod retry;
mod task;
mod trigger;

pub use flow::Flow;
pub use input::{DependsOn, Input, InputCommon, InputType};
pub use input_types::*;
pub use labels::{Label, Labels};
pub use parts::{
    Concurrency, ConcurrencyBehavior, Listener, Output, PluginDefault, Sla, SlaBehavior, SlaType,
};
pub use plugin::{CommonProperties, Plugin};
pub use retry::{
    ConstantRetry, ExponentialRetry, RandomRetry, Retry, RetryBehavior, RetryCommon, RetryPolicy,
};
pub use task::{LogLevel, Task, TaskCommon, WorkerGroup};
pub use trigger::{
    Condition, ConditionCommon, TaskRunner, TaskRunnerCommon, Trigger, TriggerCommon,
};

use crate::registry::{Kind, Registry};

/// Registers what the model itself owns: common properties of every kind, inputs, retries.
pub(crate) fn register_common(registry: &mut Registry) {
    registry.set_common::<TaskCommon>(Kind::Task);
    registry.set_common::<TriggerCommon>(Kind::Trigger);
    registry.set_common::<ConditionCommon>(Kind::Condition);
    registry.set_common::<TaskRunnerCommon>(Kind::TaskRunner);
    registry.set_common::<RetryCommon>(Kind::Retry);
    input::register(registry);
    registry.register::<ConstantRetry>();
    registry.register::<ExponentialRetry>();
    registry.register::<RandomRetry>();
}
