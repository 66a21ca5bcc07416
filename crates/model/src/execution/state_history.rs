//! A state with its history, serialized as Kestra does: `{current, histories, startDate, endDate, duration}`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::state::State;

/// One entry of a state history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    pub state: State,
    pub date: Timestamp,
}

/// The current state and every state before it, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateHistory {
    pub current: State,
    pub histories: Vec<StateEntry>,
    /// When the first state began (written for readers; recomputed from `histories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Timestamp>,
    /// When a terminal or paused state was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Timestamp>,
    /// Time from the first state to the end (or to the last change), ISO-8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
}

impl StateHistory {
    /// A history starting in `state` at `now`.
    pub fn new(state: State, now: Timestamp) -> Self {
        let mut history = Self {
            current: state,
            histories: vec![StateEntry { state, date: now }],
            start_date: None,
            end_date: None,
            duration: None,
        };
        history.refresh_summary();
        history
    }

    /// Moves to `state` at `now` (a no-op when already in it).
    pub fn set(&mut self, state: State, now: Timestamp) {
        if self.current == state {
            return;
        }
        self.current = state;
        self.histories.push(StateEntry { state, date: now });
        self.refresh_summary();
    }

    /// Takes the last change back: the state before it is current again. Does nothing to a
    /// history of one state.
    pub fn undo_last(&mut self) {
        if self.histories.len() < 2 {
            return;
        }
        self.histories.pop();
        if let Some(last) = self.histories.last() {
            self.current = last.state;
        }
        self.refresh_summary();
    }

    pub fn is_terminated(&self) -> bool {
        self.current.is_terminated()
    }

    /// When the history began.
    pub fn started(&self) -> Option<Timestamp> {
        self.histories.first().map(|entry| entry.date)
    }

    /// The date of the last change.
    pub fn changed(&self) -> Option<Timestamp> {
        self.histories.last().map(|entry| entry.date)
    }

    fn refresh_summary(&mut self) {
        self.start_date = self.started();
        let ended = self.current.is_terminated() || self.current == State::Paused;
        self.end_date = if ended { self.changed() } else { None };
        self.duration = match (self.start_date, self.end_date.or(self.changed())) {
            (Some(start), Some(end)) => Some(iso_duration(end.duration_since(start))),
            _ => None,
        };
    }
}

/// `PT1.234S`-style text of a duration, like `java.time.Duration#toString`.
fn iso_duration(duration: jiff::SignedDuration) -> String {
    let nanos = duration.as_nanos().max(0);
    let std = std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    crate::duration::Duration(std).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_dates_and_duration() {
        let start = Timestamp::from_second(1_700_000_000).expect("valid");
        let end = Timestamp::from_millisecond(1_700_000_001_500).expect("valid");
        let mut history = StateHistory::new(State::Created, start);
        history.set(State::Running, start);
        history.set(State::Success, end);
        assert_eq!(history.histories.len(), 3);
        assert_eq!(history.end_date, Some(end));
        assert_eq!(history.duration.as_deref(), Some("PT1.5S"));
        let json = serde_json::to_value(&history).expect("json");
        assert_eq!(json["current"], "SUCCESS");
        assert_eq!(json["startDate"], "2023-11-14T22:13:20Z");
    }
}
