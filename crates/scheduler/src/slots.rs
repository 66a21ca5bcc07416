//! Which slots a schedule trigger fires, decided from the trigger's state and the time passed
//! in: no clock, no I/O.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use peregrine_model::PluginSpec;
use peregrine_model::flow::Trigger;
use peregrine_model::triggers::{RecoverMissedSchedules, ScheduleOnDatesSpec, ScheduleSpec};
use serde_json::{Map, Value};

use crate::cron::{self, Cron};

/// A trigger this role cannot evaluate as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Cron(#[from] cron::Error),
    #[error("trigger '{trigger}': {message}")]
    Spec { trigger: String, message: String },
}

/// The instants a trigger fires at.
#[derive(Debug, Clone)]
pub enum Slots {
    Cron(Box<Cron>),
    /// Sorted, without duplicates.
    Dates {
        dates: Vec<Timestamp>,
        zone: TimeZone,
    },
}

/// A schedule trigger as the scheduler evaluates it.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub slots: Slots,
    /// A slot further in the past than this is skipped.
    pub late_maximum_delay: Option<SignedDuration>,
    /// What a restart does with the slots missed while the scheduler was down.
    pub recover: RecoverMissedSchedules,
}

/// What to do with a trigger's next slot now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Not due yet: wake at this instant.
    Wait(Timestamp),
    /// Fire this slot.
    Fire(Timestamp),
    /// The slots up to here were too late (`lateMaximumDelay`): this is the next slot to
    /// evaluate.
    Skip(Timestamp),
    /// The trigger never fires again.
    Never,
}

fn is_type<S: PluginSpec>(type_name: &str) -> bool {
    type_name == S::TYPE || S::ALIASES.contains(&type_name)
}

/// True for the trigger types this role fires.
pub fn is_schedule(trigger: &Trigger) -> bool {
    let type_name = trigger.common.type_name.as_str();
    is_type::<ScheduleSpec>(type_name) || is_type::<ScheduleOnDatesSpec>(type_name)
}

fn spec_error(trigger: &Trigger, message: impl std::fmt::Display) -> Error {
    Error::Spec {
        trigger: trigger.common.id.clone(),
        message: message.to_string(),
    }
}

fn late_delay(delay: Option<&peregrine_model::duration::Duration>) -> Option<SignedDuration> {
    delay.and_then(|delay| SignedDuration::try_from(delay.as_std()).ok())
}

/// Reads a date of `ScheduleOnDates`: with an offset, or a wall-clock time in `zone`.
fn parse_date(text: &str, zone: &TimeZone) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Some(instant);
    }
    if let Ok(zoned) = text.parse::<jiff::ZonedDateTime>() {
        return Some(zoned.timestamp());
    }
    let wall = text.parse::<jiff::civil::DateTime>().ok()?;
    wall.to_zoned_datetime(zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

impl Schedule {
    /// The schedule of a `Schedule` or `ScheduleOnDates` trigger; `None` for other types.
    pub fn of(trigger: &Trigger) -> Result<Option<Self>, Error> {
        let type_name = trigger.common.type_name.as_str();
        if is_type::<ScheduleSpec>(type_name) {
            let spec: ScheduleSpec = trigger.spec().map_err(|e| spec_error(trigger, e))?;
            let cron = Cron::parse(&spec.cron, spec.with_seconds, spec.timezone.as_deref())?;
            return Ok(Some(Self {
                slots: Slots::Cron(Box::new(cron)),
                late_maximum_delay: late_delay(spec.late_maximum_delay.as_ref()),
                recover: spec
                    .recover_missed_schedules
                    .unwrap_or(RecoverMissedSchedules::All),
            }));
        }
        if is_type::<ScheduleOnDatesSpec>(type_name) {
            let spec: ScheduleOnDatesSpec = trigger.spec().map_err(|e| spec_error(trigger, e))?;
            let zone = match spec.timezone.as_deref() {
                Some(name) => {
                    TimeZone::get(name).map_err(|_| cron::Error::TimeZone(name.to_string()))?
                }
                None => TimeZone::UTC,
            };
            let Value::Array(items) = &spec.dates else {
                return Err(spec_error(trigger, "dates must be a list of date-times"));
            };
            let mut dates = Vec::with_capacity(items.len());
            for item in items {
                let date = item
                    .as_str()
                    .and_then(|text| parse_date(text, &zone))
                    .ok_or_else(|| spec_error(trigger, format!("'{item}' is not a date-time")))?;
                dates.push(date);
            }
            dates.sort();
            dates.dedup();
            return Ok(Some(Self {
                slots: Slots::Dates { dates, zone },
                late_maximum_delay: None,
                recover: spec
                    .recover_missed_schedules
                    .unwrap_or(RecoverMissedSchedules::All),
            }));
        }
        Ok(None)
    }

    /// The zone the `trigger` variables are written in.
    pub fn zone(&self) -> &TimeZone {
        match &self.slots {
            Slots::Cron(cron) => cron.zone(),
            Slots::Dates { zone, .. } => zone,
        }
    }

    /// The first slot strictly after `instant`.
    pub fn next_after(&self, instant: Timestamp) -> Option<Timestamp> {
        match &self.slots {
            Slots::Cron(cron) => cron.next_after(instant),
            Slots::Dates { dates, .. } => dates.iter().copied().find(|date| *date > instant),
        }
    }

    /// The last slot strictly before `instant`.
    pub fn previous_before(&self, instant: Timestamp) -> Option<Timestamp> {
        match &self.slots {
            Slots::Cron(cron) => cron.previous_before(instant),
            Slots::Dates { dates, .. } => dates.iter().rev().copied().find(|date| *date < instant),
        }
    }

    /// The next slot of a trigger that has no state yet (a new flow or trigger): the first one
    /// after `now`; slots before the trigger existed are not missed ones.
    pub fn first(&self, now: Timestamp) -> Option<Timestamp> {
        self.next_after(now)
    }

    /// The next slot to evaluate when the scheduler starts again, given the one stored
    /// (`next`), the last slot fired (`last`) and `recoverMissedSchedules`: every missed slot
    /// (ALL), the latest one only (LAST) or none (NONE).
    pub fn recovered(
        &self,
        next: Option<Timestamp>,
        last: Timestamp,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let Some(next) = next else {
            return self.first(now);
        };
        if next > now {
            return Some(next);
        }
        match self.recover {
            RecoverMissedSchedules::All => Some(next),
            RecoverMissedSchedules::Last => match self.previous_before(now) {
                Some(latest) if latest > last => Some(latest.max(next)),
                _ => self.first(now),
            },
            RecoverMissedSchedules::None => self.first(now),
        }
    }

    /// The next slot of a trigger enabled again (its next slot was cleared when it was
    /// disabled), from the last slot fired, as Kestra's API does: the slots missed while it was
    /// disabled follow `recoverMissedSchedules` too.
    pub fn resumed(&self, last: Timestamp, now: Timestamp) -> Option<Timestamp> {
        let missed = self.next_after(last)?;
        self.recovered(Some(missed), last, now)
    }

    /// What to do with slot `next` at `now`.
    pub fn due(&self, next: Timestamp, now: Timestamp) -> Due {
        if next > now {
            return Due::Wait(next);
        }
        let Some(delay) = self.late_maximum_delay else {
            return Due::Fire(next);
        };
        if next + delay >= now {
            return Due::Fire(next);
        }
        // Too late: the first slot still within the delay, or the first future one.
        let mut slot = next;
        loop {
            match self.next_after(slot) {
                None => return Due::Never,
                Some(following) if following + delay >= now => return Due::Skip(following),
                Some(following) => slot = following,
            }
        }
    }

    /// The `trigger` variables of a firing of `slot`: `date`, `next` and `previous`, written in
    /// the trigger's zone.
    pub fn variables(&self, slot: Timestamp) -> Map<String, Value> {
        let zone = self.zone();
        let mut variables = Map::new();
        variables.insert("date".into(), Value::String(cron::format(slot, zone)));
        if let Some(next) = self.next_after(slot) {
            variables.insert("next".into(), Value::String(cron::format(next, zone)));
        }
        if let Some(previous) = self.previous_before(slot) {
            variables.insert(
                "previous".into(),
                Value::String(cron::format(previous, zone)),
            );
        }
        variables
    }
}

#[cfg(test)]
mod tests;
