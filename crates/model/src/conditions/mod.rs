//! Specs of the core trigger conditions (`io.kestra.plugin.core.condition.*`, formerly
//! `io.kestra.core.models.conditions.types.*`).

mod execution;
mod flow;
mod logic;
mod multiple;
mod schedule;

pub use execution::{
    ExecutionFlowCondition, ExecutionLabelsCondition, ExecutionNamespaceCondition,
    ExecutionOutputsCondition, ExecutionStatusCondition, HasRetryAttemptCondition,
    NamespaceComparison,
};
pub use flow::{FlowCondition, FlowNamespaceCondition};
pub use logic::{ExpressionCondition, NotCondition, OrCondition};
pub use multiple::{MultipleCondition, TimeWindow, TimeWindowType};
pub use schedule::{
    DateTimeBetweenCondition, DayInMonth, DayOfWeek, DayWeekCondition, DayWeekInMonthCondition,
    PublicHolidayCondition, TimeBetweenCondition, WeekendCondition,
};

use crate::registry::Registry;

/// Declares a core condition: its type name under `io.kestra.plugin.core.condition.` and aliases.
macro_rules! condition {
    ($spec:ty, $name:literal $(, $alias:literal)* $(; check = $check:path)?) => {
        impl $crate::registry::PluginSpec for $spec {
            const KIND: $crate::registry::Kind = $crate::registry::Kind::Condition;
            const TYPE: &'static str = concat!("io.kestra.plugin.core.condition.", $name);
            const ALIASES: &'static [&'static str] = &[$($alias),*];
            $(
                fn check(context: &mut $crate::check::CheckContext<'_>) {
                    $check(context);
                }
            )?
        }
    };
}
pub(crate) use condition;

/// Registers every core condition.
pub fn register(registry: &mut Registry) {
    registry.register::<DateTimeBetweenCondition>();
    registry.register::<DayWeekCondition>();
    registry.register::<DayWeekInMonthCondition>();
    registry.register::<ExecutionFlowCondition>();
    registry.register::<ExecutionLabelsCondition>();
    registry.register::<ExecutionNamespaceCondition>();
    registry.register::<ExecutionOutputsCondition>();
    registry.register::<ExecutionStatusCondition>();
    registry.register::<ExpressionCondition>();
    registry.register::<FlowCondition>();
    registry.register::<FlowNamespaceCondition>();
    registry.register::<HasRetryAttemptCondition>();
    registry.register::<MultipleCondition>();
    registry.register::<NotCondition>();
    registry.register::<OrCondition>();
    registry.register::<PublicHolidayCondition>();
    registry.register::<TimeBetweenCondition>();
    registry.register::<WeekendCondition>();
}

#[cfg(test)]
mod tests {
    use crate::Validator;

    fn messages(source: &str) -> Vec<String> {
        let registry = crate::core_registry();
        let report = Validator::new(&registry).validate_one(source);
        report
            .diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.clone())
            .collect()
    }

    #[test]
    fn nested_and_legacy_conditions_validate() {
        let source = r#"
id: listen
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - id: both
        type: io.kestra.plugin.core.condition.MultipleCondition
        window: P1D
        windowAdvance: P0D
        conditions:
          success:
            type: io.kestra.core.models.conditions.types.ExecutionStatusCondition
            in: [SUCCESS, WARNING]
          either:
            type: io.kestra.plugin.core.condition.Or
            conditions:
              - type: io.kestra.plugin.core.condition.ExecutionFlow
                namespace: company.team
                flowId: a
              - type: io.kestra.plugin.core.condition.ExpressionCondition
                expression: "{{ trigger.flowId == 'b' }}"
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.DayWeek
            dayOfWeek: MONDAY
"#;
        let found = messages(source);
        // The only problem left is the task type, which this crate does not register.
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("unknown task type"), "{found:?}");
    }

    #[test]
    fn multiple_condition_needs_an_id_and_known_properties() {
        let source = r#"
id: listen
namespace: company.team
tasks:
  - id: pause
    type: io.kestra.plugin.core.flow.Pause
triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.MultipleCondition
        conditions:
          weekend:
            type: io.kestra.plugin.core.condition.Weekend
            days: 2
"#;
        let found = messages(source);
        assert!(
            found.iter().any(|m| m == "missing required property 'id'"),
            "{found:?}"
        );
        assert!(
            found.iter().any(|m| m.contains("unknown property 'days'")),
            "{found:?}"
        );
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
