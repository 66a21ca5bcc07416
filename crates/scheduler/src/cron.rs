//! Kestra's cron expressions: 5 fields (6 with `withSeconds`), the nicknames (`@hourly`,
//! `@daily`, ...), evaluated in a time zone, daylight saving included.

use std::cmp::Ordering;

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::{CivilDate, CivilDateTime, CivilTime, CronDateTime, Resolution, Weekday};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};

/// An expression that does not parse, or a time zone that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid cron expression '{cron}': {reason}")]
    Cron { cron: String, reason: String },
    #[error("unknown time zone '{0}'")]
    TimeZone(String),
}

/// A parsed expression and the zone its wall-clock fields are read in.
#[derive(Debug, Clone)]
pub struct Cron {
    cron: croner::Cron,
    zone: TimeZone,
}

/// Kestra's nicknames croner does not know.
fn nickname(cron: &str) -> &str {
    match cron {
        "@midnight" => "@daily",
        other => other,
    }
}

impl Cron {
    /// Parses `cron` (6 fields when `with_seconds`) for the zone named `timezone` (UTC when
    /// none is named).
    pub fn parse(cron: &str, with_seconds: bool, timezone: Option<&str>) -> Result<Self, Error> {
        let zone = match timezone {
            Some(name) => TimeZone::get(name).map_err(|_| Error::TimeZone(name.to_string()))?,
            None => TimeZone::UTC,
        };
        let seconds = if with_seconds {
            Seconds::Required
        } else {
            Seconds::Disallowed
        };
        let parser = CronParser::builder()
            .seconds(seconds)
            .year(Year::Disallowed)
            .build();
        let trimmed = cron.trim();
        let parsed = parser
            .parse(nickname(trimmed))
            .map_err(|error| Error::Cron {
                cron: cron.to_string(),
                reason: error.to_string(),
            })?;
        Ok(Self { cron: parsed, zone })
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The first slot strictly after `instant`, none when the expression never matches again.
    pub fn next_after(&self, instant: Timestamp) -> Option<Timestamp> {
        let start = Wall(instant.to_zoned_datetime(self.zone.clone()));
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|found| found.0.timestamp())
    }

    /// The last slot strictly before `instant`.
    pub fn previous_before(&self, instant: Timestamp) -> Option<Timestamp> {
        // The search runs on whole seconds: within a second, start from the next one so the
        // second itself counts (10:00:05 is before 10:00:05.5).
        let whole = instant.as_second();
        let instant = if instant.subsec_nanosecond() > 0 {
            Timestamp::from_second(whole.saturating_add(1)).ok()?
        } else {
            instant
        };
        let start = Wall(instant.to_zoned_datetime(self.zone.clone()));
        self.cron
            .find_previous_occurrence(&start, false)
            .ok()
            .map(|found| found.0.timestamp())
    }
}

/// A zoned instant as croner searches it: wall-clock fields, resolved back through the zone.
#[derive(Debug, Clone)]
struct Wall(ZonedDateTime);

fn to_civil(datetime: DateTime) -> CivilDateTime {
    CivilDateTime::new(
        CivilDate::from_parts_unchecked(
            i32::from(datetime.year()),
            u32::try_from(datetime.month()).unwrap_or(1),
            u32::try_from(datetime.day()).unwrap_or(1),
        ),
        CivilTime::from_parts_unchecked(
            u32::try_from(datetime.hour()).unwrap_or_default(),
            u32::try_from(datetime.minute()).unwrap_or_default(),
            u32::try_from(datetime.second()).unwrap_or_default(),
        ),
    )
}

fn to_datetime(civil: CivilDateTime) -> Result<DateTime, CronError> {
    let part = |value: u32| i8::try_from(value).map_err(|_| CronError::InvalidDate);
    let year = i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?;
    DateTime::new(
        year,
        part(civil.month())?,
        part(civil.day())?,
        part(civil.hour())?,
        part(civil.minute())?,
        part(civil.second())?,
        0,
    )
    .map_err(|_| CronError::InvalidDate)
}

impl CronDateTime for Wall {
    fn to_civil(&self) -> CivilDateTime {
        to_civil(self.0.datetime())
    }

    fn civil_weekday(&self) -> Weekday {
        let days = self.0.weekday().to_sunday_zero_offset();
        Weekday::from_days_from_sunday(u32::try_from(days).unwrap_or_default())
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let ambiguous = self
            .0
            .time_zone()
            .to_ambiguous_zoned_datetime(to_datetime(civil)?);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => Resolution::Single(Wall(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => {
                let earlier = ambiguous
                    .clone()
                    .earlier()
                    .map_err(|_| CronError::InvalidTime)?;
                let later = ambiguous.later().map_err(|_| CronError::InvalidTime)?;
                Resolution::Ambiguous(Wall(earlier), Wall(later))
            }
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Wall)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

/// An instant as Kestra writes a schedule date: ISO-8601 with the zone's offset, `Z` for UTC,
/// to the second.
pub fn format(instant: Timestamp, zone: &TimeZone) -> String {
    let zoned = instant.to_zoned_datetime(zone.clone());
    let offset = zoned.offset();
    let wall = zoned.strftime("%Y-%m-%dT%H:%M:%S");
    if offset.seconds() == 0 {
        format!("{wall}Z")
    } else {
        format!("{wall}{}", zoned.strftime("%:z"))
    }
}
