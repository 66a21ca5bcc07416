//! Schedule triggers fired into the runtime over SQLite: one execution per second-slot with
//! Kestra's `trigger` variables, and after a restart the missed slots as
//! `recoverMissedSchedules` says (all of them, none).

mod common;

use std::time::Duration;

use jiff::Timestamp;
use peregrine_model::execution::Execution;
use peregrine_ports::repository::{ExecutionQuery, FlowRepository};

fn flow(recover: &str) -> String {
    format!(
        r#"
id: every_second
namespace: company.team
inputs:
  - id: slot
    type: STRING
tasks:
  - id: date
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.date }}}} {{{{ inputs.slot }}}}"
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
    recoverMissedSchedules: {recover}
    inputs:
      slot: "{{{{ trigger.date }}}}"
    labels:
      origin: schedule
"#
    )
}

/// Runs a server process on `folder` for `seconds`, with the flow saved when `save` is given;
/// returns every execution of the flow once they have ended.
fn run_for(folder: &std::path::Path, save: Option<&str>, seconds: f64) -> Vec<Execution> {
    let backends = common::sqlite_backends(folder);
    let runtime = common::runtime();
    let executions = runtime.block_on(async {
        let services = common::services(&backends).await;
        if let Some(source) = save {
            services
                .flows
                .save(
                    "company.team",
                    "every_second",
                    source.to_string(),
                    Timestamp::now(),
                )
                .await
                .expect("saved");
        }
        tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
        // Let the last execution end.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let query = ExecutionQuery {
            namespace: Some("company.team".into()),
            flow_id: Some("every_second".into()),
            states: Vec::new(),
            page: 1,
            size: 1_000,
        };
        services
            .runtime
            .store()
            .search(&query)
            .await
            .expect("search")
            .results
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    executions
}

/// The slot of each execution, in order, checked against what the execution carries.
fn slots(executions: &[Execution]) -> Vec<i64> {
    let mut slots: Vec<i64> = executions
        .iter()
        .map(|execution| {
            assert!(
                execution.state.is_terminated(),
                "{:?}",
                execution.state.current
            );
            let trigger = execution.trigger.as_ref().expect("started by the trigger");
            assert_eq!(trigger.id, "tick");
            assert_eq!(trigger.type_name, "io.kestra.plugin.core.trigger.Schedule");
            let variables = trigger.variables.as_ref().expect("trigger variables");
            let date = variables["date"].as_str().expect("a date").to_string();
            assert!(variables["next"].is_string() && variables["previous"].is_string());
            assert!(
                execution
                    .labels
                    .iter()
                    .any(|l| l.key == "origin" && l.value == "schedule")
            );
            let inputs = execution.inputs.as_ref().expect("inputs");
            assert_eq!(
                inputs["slot"],
                date.as_str(),
                "inputs rendered with the trigger"
            );
            let output = &execution.task_run_list[0]
                .outputs
                .as_ref()
                .expect("outputs")["value"];
            assert_eq!(
                output,
                &format!("{date} {date}"),
                "`trigger.date` in a task"
            );
            date.parse::<Timestamp>().expect("an instant").as_second()
        })
        .collect();
    slots.sort_unstable();
    slots
}

fn assert_no_slot_twice(slots: &[i64]) {
    let mut unique = slots.to_vec();
    unique.dedup();
    assert_eq!(unique.len(), slots.len(), "a slot fired twice: {slots:?}");
}

#[test]
fn every_second_fires_once_per_slot_into_the_runtime() {
    let folder = tempfile::tempdir().expect("a folder");
    let executions = run_for(folder.path(), Some(&flow("ALL")), 3.5);
    let slots = slots(&executions);
    assert!((3..=4).contains(&slots.len()), "3.5 s: {slots:?}");
    assert_no_slot_twice(&slots);
    assert!(
        slots.windows(2).all(|pair| pair[1] - pair[0] == 1),
        "{slots:?}"
    );
}

#[test]
fn a_restart_fires_every_missed_slot_with_all() {
    let folder = tempfile::tempdir().expect("a folder");
    let before = slots(&run_for(folder.path(), Some(&flow("ALL")), 1.5));
    assert!(!before.is_empty());
    std::thread::sleep(Duration::from_secs(3));
    let all = slots(&run_for(folder.path(), None, 1.0));
    assert_no_slot_twice(&all);
    assert!(
        all.len() >= before.len() + 4,
        "the 3 s down were fired: {all:?}"
    );
    assert!(
        all.windows(2).all(|pair| pair[1] - pair[0] == 1),
        "no slot lost across the restart: {all:?}"
    );
}

#[test]
fn a_restart_fires_no_missed_slot_with_none() {
    let folder = tempfile::tempdir().expect("a folder");
    let before = slots(&run_for(folder.path(), Some(&flow("NONE")), 1.5));
    let last_before = *before.last().expect("fired before the restart");
    std::thread::sleep(Duration::from_secs(3));
    let all = slots(&run_for(folder.path(), None, 1.0));
    assert_no_slot_twice(&all);
    let after: Vec<i64> = all.iter().copied().filter(|s| *s > last_before).collect();
    let first_after = *after.first().expect("fired after the restart");
    assert!(
        first_after - last_before >= 3,
        "the slots while down were skipped: {all:?}"
    );
}

const TICKING: &str = r#"
id: ticking
namespace: company.team
tasks:
  - id: noop
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
"#;

fn toggle(id: &str, enabled: bool) -> String {
    format!(
        "id: {id}\nnamespace: company.team\ntasks:\n  - id: toggle\n    type: io.kestra.plugin.core.trigger.Toggle\n    flowId: ticking\n    trigger: tick\n    enabled: {enabled}\n"
    )
}

#[test]
fn toggle_stops_and_starts_a_schedule_at_once() {
    let folder = tempfile::tempdir().expect("a folder");
    let backends = common::sqlite_backends(folder.path());
    let runtime = common::runtime();
    runtime.block_on(async {
        let services = common::services(&backends).await;
        let flows = [
            ("ticking", TICKING.to_string()),
            ("pause_it", toggle("pause_it", false)),
            ("resume_it", toggle("resume_it", true)),
        ];
        for (id, source) in flows {
            services
                .flows
                .save("company.team", id, source, Timestamp::now())
                .await
                .expect("saved");
        }
        let count = || common::executions_of(&services, "company.team", "ticking");
        let run = |id: &'static str| {
            let services = services.clone();
            async move {
                let execution = services
                    .runtime
                    .execute("company.team", id, &serde_json::Map::new())
                    .expect("started");
                let ended = services
                    .runtime
                    .wait_for(&execution, Duration::from_secs(5), |e| {
                        e.state.is_terminated()
                    })
                    .await
                    .expect("ends");
                assert_eq!(ended.state.current, peregrine_model::state::State::Success);
            }
        };
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(count().await >= 1, "fires while enabled");
        run("pause_it").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let paused = count().await;
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        assert_eq!(count().await, paused, "no slot fires while disabled");
        run("resume_it").await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert!(count().await > paused, "fires again once enabled");
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}
