use jiff::{SignedDuration, Timestamp};
use peregrine_model::triggers::RecoverMissedSchedules;

use super::{Due, Schedule, Slots};
use crate::cron::Cron;

fn at(text: &str) -> Timestamp {
    text.parse().expect("an instant")
}

fn schedule(cron: &str, with_seconds: bool, zone: Option<&str>) -> Schedule {
    Schedule {
        slots: Slots::Cron(Box::new(
            Cron::parse(cron, with_seconds, zone).expect("parses"),
        )),
        late_maximum_delay: None,
        recover: RecoverMissedSchedules::All,
    }
}

fn with_recover(cron: &str, recover: RecoverMissedSchedules) -> Schedule {
    Schedule {
        recover,
        ..schedule(cron, false, None)
    }
}

/// A task type so the test flow validates.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct LogSpec {
    #[allow(dead_code)]
    message: String,
}

impl peregrine_model::PluginSpec for LogSpec {
    const KIND: peregrine_model::Kind = peregrine_model::Kind::Task;
    const TYPE: &'static str = "io.kestra.plugin.core.log.Log";
}

/// The schedule of the first trigger of a flow written in YAML.
fn of_yaml(trigger: &str) -> Result<Option<Schedule>, super::Error> {
    let source = format!(
        "id: f\nnamespace: team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\ntriggers:\n{trigger}"
    );
    let mut registry = peregrine_model::core_registry();
    registry.register::<LogSpec>();
    let report = peregrine_model::Validator::new(&registry).validate_one(&source);
    let problems: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(report.flow.is_some(), "a valid flow: {problems:?}");
    let flow = report.flow.expect("valid");
    Schedule::of(&flow.triggers[0])
}

#[test]
fn five_fields_fire_on_the_minute_and_six_on_the_second() {
    let minutes = schedule("*/15 * * * *", false, None);
    let now = at("2024-03-01T10:07:30Z");
    assert_eq!(minutes.next_after(now), Some(at("2024-03-01T10:15:00Z")));
    assert_eq!(
        minutes.previous_before(now),
        Some(at("2024-03-01T10:00:00Z"))
    );
    // A slot is strictly after the instant given.
    let slot = at("2024-03-01T10:15:00Z");
    assert_eq!(minutes.next_after(slot), Some(at("2024-03-01T10:30:00Z")));

    let every_second = schedule("* * * * * *", true, None);
    assert_eq!(
        every_second.previous_before(at("2024-03-01T10:00:05.500Z")),
        Some(at("2024-03-01T10:00:05Z"))
    );
    assert_eq!(
        every_second.previous_before(at("2024-03-01T10:00:05Z")),
        Some(at("2024-03-01T10:00:04Z"))
    );
    let seconds = schedule("*/2 * * * * *", true, None);
    assert_eq!(
        seconds.next_after(at("2024-03-01T10:07:30.400Z")),
        Some(at("2024-03-01T10:07:32Z"))
    );
    assert!(
        Cron::parse("* * * * *", true, None).is_err(),
        "6 fields expected"
    );
    assert!(
        Cron::parse("* * * * * *", false, None).is_err(),
        "5 fields expected"
    );
}

#[test]
fn nicknames_are_kestras() {
    let now = at("2024-03-01T10:07:30Z");
    let next = |cron: &str| schedule(cron, false, None).next_after(now);
    assert_eq!(next("@hourly"), Some(at("2024-03-01T11:00:00Z")));
    assert_eq!(next("@daily"), Some(at("2024-03-02T00:00:00Z")));
    assert_eq!(next("@midnight"), Some(at("2024-03-02T00:00:00Z")));
    assert_eq!(next("@weekly"), Some(at("2024-03-03T00:00:00Z")));
    assert_eq!(next("@monthly"), Some(at("2024-04-01T00:00:00Z")));
    assert_eq!(next("@yearly"), Some(at("2025-01-01T00:00:00Z")));
    // With seconds, a nickname keeps its meaning (second 0).
    let hourly = schedule("@hourly", true, None);
    assert_eq!(hourly.next_after(now), Some(at("2024-03-01T11:00:00Z")));
}

#[test]
fn the_time_zone_reads_the_fields_on_its_wall_clock() {
    let paris = schedule("0 9 * * *", false, Some("Europe/Paris"));
    // 09:00 in Paris is 08:00 UTC in winter and 07:00 UTC in summer.
    assert_eq!(
        paris.next_after(at("2024-01-10T12:00:00Z")),
        Some(at("2024-01-11T08:00:00Z"))
    );
    assert_eq!(
        paris.next_after(at("2024-07-10T12:00:00Z")),
        Some(at("2024-07-11T07:00:00Z"))
    );
    assert!(Cron::parse("0 9 * * *", false, Some("Mars/Olympus")).is_err());
}

#[test]
fn daylight_saving_neither_repeats_nor_loses_a_day() {
    let paris = schedule("30 2 * * *", false, Some("Europe/Paris"));
    // 2024-03-31: 02:00 jumps to 03:00 in Paris, so 02:30 does not exist that day; whatever
    // that day does, the next day fires at its 02:30 as usual.
    let before = at("2024-03-30T12:00:00Z");
    let first = paris.next_after(before).expect("a slot");
    let second = paris.next_after(first).expect("a slot");
    assert!(first > before && second > first);
    assert!(first >= at("2024-03-31T00:00:00Z"), "not before the day");
    assert_eq!(paris.next_after(second), Some(at("2024-04-02T00:30:00Z")));
    // 2024-10-27: 03:00 goes back to 02:00, so 02:30 happens twice: one firing only.
    let autumn = paris
        .next_after(at("2024-10-26T12:00:00Z"))
        .expect("a slot");
    assert_eq!(autumn, at("2024-10-27T00:30:00Z"));
    assert_eq!(paris.next_after(autumn), Some(at("2024-10-28T01:30:00Z")));
}

#[test]
fn trigger_variables_are_the_slot_its_next_and_its_previous() {
    let utc = schedule("0 * * * *", false, None);
    let variables = utc.variables(at("2024-03-01T10:00:00Z"));
    assert_eq!(variables["date"], "2024-03-01T10:00:00Z");
    assert_eq!(variables["next"], "2024-03-01T11:00:00Z");
    assert_eq!(variables["previous"], "2024-03-01T09:00:00Z");
    let paris = schedule("0 * * * *", false, Some("Europe/Paris"));
    let variables = paris.variables(at("2024-03-01T10:00:00Z"));
    assert_eq!(variables["date"], "2024-03-01T11:00:00+01:00");
}

#[test]
fn a_new_trigger_starts_after_now() {
    let minutes = schedule("* * * * *", false, None);
    let now = at("2024-03-01T10:07:30Z");
    let slot = at("2024-03-01T10:08:00Z");
    assert_eq!(minutes.first(now), Some(slot));
    assert_eq!(minutes.due(slot, now), Due::Wait(slot));
    assert_eq!(minutes.due(slot, slot), Due::Fire(slot));
}

#[test]
fn missed_slots_on_restart_follow_recover_missed_schedules() {
    // Fired 10:00, stored next 10:01, down until 10:05:30.
    let last = at("2024-03-01T10:00:00Z");
    let next = Some(at("2024-03-01T10:01:00Z"));
    let now = at("2024-03-01T10:05:30Z");
    let all = with_recover("* * * * *", RecoverMissedSchedules::All);
    assert_eq!(
        all.recovered(next, last, now),
        next,
        "ALL starts from the first missed"
    );
    let latest = with_recover("* * * * *", RecoverMissedSchedules::Last);
    assert_eq!(
        latest.recovered(next, last, now),
        Some(at("2024-03-01T10:05:00Z")),
        "LAST keeps the latest missed only"
    );
    let none = with_recover("* * * * *", RecoverMissedSchedules::None);
    assert_eq!(
        none.recovered(next, last, now),
        Some(at("2024-03-01T10:06:00Z")),
        "NONE starts after now"
    );
    // Nothing missed: every policy keeps the stored slot.
    let early = at("2024-03-01T10:00:30Z");
    for schedule in [&all, &latest, &none] {
        assert_eq!(schedule.recovered(next, last, early), next);
    }
    // A state without a next slot starts after now.
    assert_eq!(
        all.recovered(None, last, now),
        Some(at("2024-03-01T10:06:00Z"))
    );
    // A trigger enabled again resumes from its last slot, by the same policy.
    assert_eq!(all.resumed(last, now), next);
    assert_eq!(latest.resumed(last, now), Some(at("2024-03-01T10:05:00Z")));
    assert_eq!(none.resumed(last, now), Some(at("2024-03-01T10:06:00Z")));
}

#[test]
fn all_fires_every_missed_slot_in_turn() {
    let all = with_recover("* * * * *", RecoverMissedSchedules::All);
    let now = at("2024-03-01T10:05:30Z");
    let first = all.recovered(
        Some(at("2024-03-01T10:01:00Z")),
        at("2024-03-01T10:00:00Z"),
        now,
    );
    let mut slot = first.expect("a slot");
    let mut fired = Vec::new();
    while let Due::Fire(due) = all.due(slot, now) {
        fired.push(due);
        slot = all.next_after(due).expect("a slot");
    }
    assert_eq!(fired.len(), 5, "10:01 to 10:05: {fired:?}");
    assert_eq!(all.due(slot, now), Due::Wait(at("2024-03-01T10:06:00Z")));
}

#[test]
fn slots_later_than_the_maximum_delay_are_skipped() {
    let late = Schedule {
        late_maximum_delay: Some(SignedDuration::from_secs(90)),
        ..schedule("* * * * *", false, None)
    };
    let now = at("2024-03-01T10:05:30Z");
    // 10:04:00 + 90 s = 10:05:30: still in time.
    let in_time = at("2024-03-01T10:04:00Z");
    assert_eq!(late.due(in_time, now), Due::Fire(in_time));
    // 10:01 is too late: the next slot to evaluate is the first one within the delay.
    assert_eq!(
        late.due(at("2024-03-01T10:01:00Z"), now),
        Due::Skip(in_time)
    );
}

#[test]
fn schedule_and_schedule_on_dates_read_from_a_flow() {
    let cron = of_yaml(concat!(
        "  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n",
        "    cron: \"*/2 * * * * *\"\n    withSeconds: true\n    timezone: Europe/Paris\n",
        "    recoverMissedSchedules: NONE\n    lateMaximumDelay: PT1M\n",
    ))
    .expect("reads")
    .expect("a schedule");
    assert_eq!(cron.recover, RecoverMissedSchedules::None);
    assert_eq!(cron.late_maximum_delay, Some(SignedDuration::from_secs(60)));
    assert_eq!(cron.zone().iana_name(), Some("Europe/Paris"));
    let default = of_yaml(
        "  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: \"@daily\"\n",
    )
    .expect("reads")
    .expect("a schedule");
    assert_eq!(
        default.recover,
        RecoverMissedSchedules::All,
        "Kestra's default"
    );

    let dates = of_yaml(concat!(
        "  - id: d\n    type: io.kestra.plugin.core.trigger.ScheduleOnDates\n    dates:\n",
        "      - 2024-03-01T10:00:00Z\n      - 2024-03-01T09:00:00+01:00\n",
        "      - 2024-03-02T10:00:00\n",
    ))
    .expect("reads")
    .expect("a schedule");
    let next = |text: &str| dates.next_after(at(text));
    assert_eq!(
        next("2024-03-01T00:00:00Z"),
        Some(at("2024-03-01T08:00:00Z"))
    );
    assert_eq!(
        next("2024-03-01T08:00:00Z"),
        Some(at("2024-03-01T10:00:00Z"))
    );
    assert_eq!(
        next("2024-03-01T10:00:00Z"),
        Some(at("2024-03-02T10:00:00Z"))
    );
    assert_eq!(next("2024-03-02T10:00:00Z"), None);

    let webhook =
        of_yaml("  - id: w\n    type: io.kestra.plugin.core.trigger.Webhook\n    key: k\n")
            .expect("reads");
    assert!(webhook.is_none());
}
