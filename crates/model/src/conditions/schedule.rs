//! Conditions on a date (the schedule date by default): DateTimeBetween, DayWeek, DayWeekInMonth,
//! PublicHoliday, TimeBetween, Weekend.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition;
use crate::property::Property;

/// A day of the week, as `java.time.DayOfWeek` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// Which occurrence of a weekday in its month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DayInMonth {
    First,
    Last,
    Second,
    Third,
    Fourth,
}

/// True when the date is between `after` and `before` (ISO-8601 date-times, each optional).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct DateTimeBetweenCondition {
    /// The date to test; "{{ trigger.date }}" by default.
    pub date: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}
condition!(
    DateTimeBetweenCondition,
    "DateTimeBetween",
    "io.kestra.core.models.conditions.types.DateTimeBetweenCondition",
    "io.kestra.plugin.core.condition.DateTimeBetweenCondition"
);

/// True when the date falls on `dayOfWeek`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayWeekCondition {
    /// The date to test; "{{ trigger.date }}" by default.
    pub date: Option<String>,
    pub day_of_week: Property<DayOfWeek>,
}
condition!(
    DayWeekCondition,
    "DayWeek",
    "io.kestra.core.models.conditions.types.DayWeekCondition",
    "io.kestra.plugin.core.condition.DayWeekCondition"
);

/// True when the date is the first, second... or last `dayOfWeek` of its month.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayWeekInMonthCondition {
    /// The date to test; "{{ trigger.date }}" by default.
    pub date: Option<String>,
    pub day_of_week: Property<DayOfWeek>,
    pub day_in_month: Property<DayInMonth>,
}
condition!(
    DayWeekInMonthCondition,
    "DayWeekInMonth",
    "io.kestra.core.models.conditions.types.DayWeekInMonthCondition",
    "io.kestra.plugin.core.condition.DayWeekInMonthCondition"
);

/// True when the date is a public holiday of a country (the server's locale by default).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicHolidayCondition {
    /// The date to test; "{{ trigger.date }}" by default.
    pub date: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// ISO 3166-2 subdivision code.
    pub sub_division: Option<String>,
}
condition!(
    PublicHolidayCondition,
    "PublicHoliday",
    "io.kestra.core.models.conditions.types.PublicHolidayCondition",
    "io.kestra.plugin.core.condition.PublicHolidayCondition"
);

/// True when the time of the date is between `after` and `before` (ISO-8601 times with offset).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TimeBetweenCondition {
    /// The date to test; "{{ trigger.date }}" by default.
    pub date: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}
condition!(
    TimeBetweenCondition,
    "TimeBetween",
    "io.kestra.core.models.conditions.types.TimeBetweenCondition",
    "io.kestra.plugin.core.condition.TimeBetweenCondition"
);

/// True when the date falls on a Saturday or a Sunday.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WeekendCondition {
    /// The date to test; "{{ trigger.date }}" by default.
    pub date: Option<String>,
}
condition!(
    WeekendCondition,
    "Weekend",
    "io.kestra.core.models.conditions.types.WeekendCondition",
    "io.kestra.plugin.core.condition.WeekendCondition"
);
