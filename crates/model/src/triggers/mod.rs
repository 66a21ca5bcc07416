//! Specs of the core triggers (`io.kestra.plugin.core.trigger.*`) and trigger conditions.

mod flow_trigger;
mod schedule;
mod webhook;

pub use flow_trigger::{FlowTriggerSpec, Preconditions, UpstreamFlow};
pub use schedule::{Backfill, RecoverMissedSchedules, ScheduleOnDatesSpec, ScheduleSpec};
pub use webhook::WebhookSpec;

use crate::registry::Registry;

/// Registers every core trigger.
pub fn register(registry: &mut Registry) {
    registry.register::<ScheduleSpec>();
    registry.register::<ScheduleOnDatesSpec>();
    registry.register::<FlowTriggerSpec>();
    registry.register::<WebhookSpec>();
}
