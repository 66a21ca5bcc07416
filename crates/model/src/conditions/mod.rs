//! Specs of the core trigger conditions (`io.kestra.plugin.core.condition.*`).

use crate::registry::Registry;

/// Registers every core condition.
pub fn register(_registry: &mut Registry) {}
