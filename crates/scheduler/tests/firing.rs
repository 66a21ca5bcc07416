//! The scheduler's loop against a recording launcher: one firing per slot (with two schedulers
//! on one database too), missed slots on restart, a claim whose execution never started, and
//! the claims of a scheduler that died, taken over by another one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use peregrine_model::Flow;
use peregrine_model::state::State;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::memory::MemoryTriggers;
use peregrine_ports::triggers::{TriggerKey, TriggerState, TriggerStore};
use peregrine_scheduler::{
    Clock, Firing, LaunchError, Launcher, Scheduler, SchedulerHandle, SchedulerOptions, Started,
    SystemClock,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Starts nothing: records each firing and tells the test its execution id.
struct Recorder {
    firings: Mutex<Vec<Firing>>,
    ids: AtomicUsize,
    started: mpsc::UnboundedSender<String>,
    /// What `state` answers for executions it did not start.
    known: Mutex<Vec<(String, State)>>,
}

impl Recorder {
    fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<String>) {
        let (started, receiver) = mpsc::unbounded_channel();
        let recorder = Arc::new(Self {
            firings: Mutex::new(Vec::new()),
            ids: AtomicUsize::new(0),
            started,
            known: Mutex::new(Vec::new()),
        });
        (recorder, receiver)
    }

    fn dates(&self) -> Vec<Timestamp> {
        self.firings
            .lock()
            .expect("lock")
            .iter()
            .map(|f| f.date)
            .collect()
    }

    fn firings(&self) -> Vec<Firing> {
        self.firings.lock().expect("lock").clone()
    }
}

impl Launcher for Recorder {
    fn new_id(&self) -> String {
        format!("exec{}", self.ids.fetch_add(1, Ordering::SeqCst))
    }

    fn start(&self, firing: Firing) -> BoxFuture<'_, Result<Started, LaunchError>> {
        let id = firing.execution_id.clone();
        self.firings.lock().expect("lock").push(firing);
        let _ = self.started.send(id);
        Box::pin(async { Ok(Started::Started) })
    }

    fn state(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<State>, LaunchError>> {
        let known = self.known.lock().expect("lock");
        let state = known
            .iter()
            .find(|(id, _)| id == execution_id)
            .map(|(_, state)| *state);
        Box::pin(async move { Ok(state) })
    }
}

/// Ends every started execution at once, on every handle given.
fn end_at_once(started: mpsc::UnboundedReceiver<String>, handles: Vec<SchedulerHandle>) {
    end_at_once_in(State::Success, started, handles);
}

/// Ends every started execution at once in `end`.
fn end_at_once_in(
    end: State,
    mut started: mpsc::UnboundedReceiver<String>,
    handles: Vec<SchedulerHandle>,
) {
    tokio::spawn(async move {
        while let Some(id) = started.recv().await {
            for handle in &handles {
                handle.execution_ended(&id, end);
            }
        }
    });
}

/// A clock that stays where the test puts it.
struct Frozen(Mutex<Timestamp>);

impl Clock for Frozen {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("lock")
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("an instant")
}

fn flow(trigger: &str) -> Arc<Flow> {
    let source = format!(
        "id: f\nnamespace: team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.flow.Pause\ntriggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n{trigger}"
    );
    let registry = peregrine_model::core_registry();
    let report = peregrine_model::Validator::new(&registry).validate_one(&source);
    let problems: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert!(report.flow.is_some(), "a valid flow: {problems:?}");
    Arc::new(report.flow.expect("valid"))
}

fn key() -> TriggerKey {
    TriggerKey::new("team", "f", "s")
}

fn options(
    triggers: Arc<dyn TriggerStore>,
    launcher: Arc<Recorder>,
    clock: Arc<dyn Clock>,
) -> SchedulerOptions {
    SchedulerOptions {
        triggers,
        launcher,
        clock,
        report: Arc::new(|message| eprintln!("scheduler: {message}")),
    }
}

fn sqlite() -> (Arc<peregrine_store_sqlite::SqliteStore>, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let store = peregrine_store_sqlite::SqliteStore::open(
        folder.path().join("peregrine.db"),
        peregrine_store_sqlite::Durability::Process,
    )
    .expect("opens");
    (Arc::new(store), folder)
}

/// Every firing's slot is a distinct whole second, and they follow each other.
fn assert_one_per_second(dates: &[Timestamp]) {
    let mut sorted = dates.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), dates.len(), "a slot fired twice: {dates:?}");
    for pair in sorted.windows(2) {
        assert_eq!(
            pair[1].as_second() - pair[0].as_second(),
            1,
            "a slot was skipped: {sorted:?}"
        );
    }
    assert!(dates.iter().all(|date| date.subsec_nanosecond() == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_second_fires_once_per_slot() {
    let (store, _folder) = sqlite();
    let (recorder, started) = Recorder::new();
    let stop = CancellationToken::new();
    let clock = Arc::new(SystemClock);
    let handle = Scheduler::start(
        options(store.clone(), recorder.clone(), clock),
        stop.clone(),
    );
    end_at_once(started, vec![handle.clone()]);
    handle.flow_loaded(flow("    cron: \"* * * * * *\"\n    withSeconds: true\n"));
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    stop.cancel();
    let dates = recorder.dates();
    assert!(
        (3..=4).contains(&dates.len()),
        "3.5 s of a per-second schedule: {dates:?}"
    );
    assert_one_per_second(&dates);
    let firing = &recorder.firings()[0];
    assert_eq!(firing.trigger_id, "s");
    let variables = &firing.variables;
    assert!(variables["date"].as_str().is_some_and(|d| d.ends_with('Z')));
    assert!(variables.contains_key("next") && variables.contains_key("previous"));
    let state = store.get(&key()).await.expect("read").expect("stored");
    assert!(state.next_execution_date > Some(state.date));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_one_database_fire_each_slot_once() {
    let (store, _folder) = sqlite();
    let (recorder, started) = Recorder::new();
    let stop = CancellationToken::new();
    let flow = flow("    cron: \"* * * * * *\"\n    withSeconds: true\n");
    let mut handles = Vec::new();
    for _ in 0..2 {
        let options = options(store.clone(), recorder.clone(), Arc::new(SystemClock));
        let handle = Scheduler::start(options, stop.clone());
        handle.flow_loaded(flow.clone());
        handles.push(handle);
    }
    end_at_once(started, handles);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    stop.cancel();
    let dates = recorder.dates();
    assert!(dates.len() >= 3, "slots fired: {dates:?}");
    assert_one_per_second(&dates);
}

/// A store holding one trigger state.
async fn holding(state: TriggerState) -> Arc<MemoryTriggers> {
    let store = Arc::new(MemoryTriggers::new());
    store
        .put(state, None)
        .await
        .expect("answers")
        .expect("stored");
    store
}

/// Runs a scheduler over a state left by an earlier one (last fired 10:00:00, next 10:00:01),
/// restarted at 10:00:05.5, and returns the slots it fires.
async fn restart(recover: &str, stored: TriggerState, known: Vec<(String, State)>) -> Vec<Firing> {
    let store = holding(stored).await;
    let (recorder, started) = Recorder::new();
    *recorder.known.lock().expect("lock") = known;
    let clock = Arc::new(Frozen(Mutex::new(at("2024-03-01T10:00:05.500Z"))));
    let stop = CancellationToken::new();
    let handle = Scheduler::start(options(store, recorder.clone(), clock), stop.clone());
    end_at_once(started, vec![handle.clone()]);
    let trigger = format!(
        "    cron: \"* * * * * *\"\n    withSeconds: true\n    recoverMissedSchedules: {recover}\n"
    );
    handle.flow_loaded(flow(&trigger));
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.cancel();
    recorder.firings()
}

fn left_state() -> TriggerState {
    TriggerState {
        next_execution_date: Some(at("2024-03-01T10:00:01Z")),
        ..TriggerState::new(key(), at("2024-03-01T10:00:00Z"))
    }
}

#[tokio::test]
async fn a_restart_recovers_missed_slots_as_configured() {
    let all = restart("ALL", left_state(), Vec::new()).await;
    let dates: Vec<Timestamp> = all.iter().map(|f| f.date).collect();
    let expected: Vec<Timestamp> = (1..=5)
        .map(|s| at(&format!("2024-03-01T10:00:0{s}Z")))
        .collect();
    assert_eq!(dates, expected, "ALL: every missed slot, in order");

    let last = restart("LAST", left_state(), Vec::new()).await;
    let dates: Vec<Timestamp> = last.iter().map(|f| f.date).collect();
    assert_eq!(dates, [at("2024-03-01T10:00:05Z")], "LAST: the latest only");

    let none = restart("NONE", left_state(), Vec::new()).await;
    assert!(none.is_empty(), "NONE: nothing missed is fired: {none:?}");
}

#[tokio::test]
async fn a_claim_without_its_execution_starts_that_execution_again() {
    let claimed = TriggerState {
        date: at("2024-03-01T10:00:05Z"),
        next_execution_date: Some(at("2024-03-01T10:00:06Z")),
        execution_id: Some("lost".into()),
        ..left_state()
    };
    let firings = restart("ALL", claimed.clone(), Vec::new()).await;
    assert_eq!(firings.len(), 1, "{firings:?}");
    assert_eq!(firings[0].execution_id, "lost", "the same execution");
    assert_eq!(firings[0].date, at("2024-03-01T10:00:05Z"), "the same slot");

    // Its execution exists and ended: nothing is started again.
    let ended = vec![("lost".to_string(), State::Success)];
    let firings = restart("ALL", claimed, ended).await;
    assert!(firings.is_empty(), "{firings:?}");
}

#[tokio::test]
async fn stop_after_disables_the_trigger_when_an_execution_ends_so() {
    let store = holding(left_state()).await;
    let (recorder, started) = Recorder::new();
    let clock = Arc::new(Frozen(Mutex::new(at("2024-03-01T10:00:05.500Z"))));
    let stop = CancellationToken::new();
    let handle = Scheduler::start(
        options(store.clone(), recorder.clone(), clock),
        stop.clone(),
    );
    end_at_once_in(State::Failed, started, vec![handle.clone()]);
    handle.flow_loaded(flow(
        "    cron: \"* * * * * *\"\n    withSeconds: true\n    stopAfter:\n      - FAILED\n",
    ));
    tokio::time::sleep(Duration::from_millis(600)).await;
    stop.cancel();
    assert_eq!(
        recorder.dates(),
        [at("2024-03-01T10:00:01Z")],
        "stopped after the first"
    );
    let state = store.get(&key()).await.expect("read").expect("stored");
    assert!(state.disabled && state.execution_id.is_none(), "{state:?}");
}

/// Claims a slot and never starts its execution: a scheduler that dies between the two steps.
struct Stalled;

impl Launcher for Stalled {
    fn new_id(&self) -> String {
        "stalled".into()
    }

    fn start(&self, _firing: Firing) -> BoxFuture<'_, Result<Started, LaunchError>> {
        Box::pin(std::future::pending())
    }

    fn state(&self, _execution_id: &str) -> BoxFuture<'_, Result<Option<State>, LaunchError>> {
        Box::pin(async { Ok(None) })
    }
}

/// A scheduler that knows the trigger (its next slot 10:00:01 not due yet at 10:00:00.5), then
/// another on the same store that claims that slot with `launcher`; returns the store, the
/// first scheduler with its clock and recorder, and the other's stop token.
async fn watched_by_another(
    launcher: Arc<dyn Launcher>,
) -> (
    Arc<MemoryTriggers>,
    SchedulerHandle,
    Arc<Frozen>,
    Arc<Recorder>,
    CancellationToken,
) {
    let store = holding(left_state()).await;
    let trigger = flow("    cron: \"* * * * * *\"\n    withSeconds: true\n");
    let (recorder, _started) = Recorder::new();
    let watcher_clock = Arc::new(Frozen(Mutex::new(at("2024-03-01T10:00:00.500Z"))));
    let watcher = Scheduler::start(
        options(store.clone(), recorder.clone(), watcher_clock.clone()),
        CancellationToken::new(),
    );
    watcher.flow_loaded(trigger.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let other_stop = CancellationToken::new();
    let other = Scheduler::start(
        SchedulerOptions {
            triggers: store.clone(),
            launcher,
            clock: Arc::new(Frozen(Mutex::new(at("2024-03-01T10:00:01.200Z")))),
            report: Arc::new(|message| eprintln!("scheduler: {message}")),
        },
        other_stop.clone(),
    );
    other.flow_loaded(trigger);
    tokio::time::sleep(Duration::from_millis(100)).await;
    (store, watcher, watcher_clock, recorder, other_stop)
}

/// Moves `clock` to `instant` and wakes the scheduler (as the reading of the trigger states
/// every second does for a scheduler of its own).
async fn move_to(clock: &Frozen, scheduler: &SchedulerHandle, instant: &str) {
    *clock.0.lock().expect("lock") = at(instant);
    scheduler.triggers_changed();
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn the_claim_of_a_dead_scheduler_is_released_by_another_when_its_execution_ends() {
    let (first, _) = Recorder::new();
    let (store, watcher, clock, recorder, other_stop) = watched_by_another(first.clone()).await;
    assert_eq!(
        first.dates(),
        [at("2024-03-01T10:00:01Z")],
        "the other fired"
    );
    other_stop.cancel();
    move_to(&clock, &watcher, "2024-03-01T10:00:01.200Z").await;
    assert!(recorder.firings().is_empty(), "the slot is claimed already");

    let claimed = store.get(&key()).await.expect("read").expect("stored");
    let execution_id = claimed.execution_id.expect("claimed");
    watcher.execution_ended(&execution_id, State::Success);
    move_to(&clock, &watcher, "2024-03-01T10:00:02.200Z").await;
    assert_eq!(
        recorder.dates(),
        [at("2024-03-01T10:00:02Z")],
        "the next slot fires here once the dead scheduler's execution ended"
    );
}

#[tokio::test]
async fn an_unstarted_claim_of_a_dead_scheduler_is_started_by_another() {
    let (_, watcher, clock, recorder, _other_stop) = watched_by_another(Arc::new(Stalled)).await;
    move_to(&clock, &watcher, "2024-03-01T10:00:01.200Z").await;
    move_to(&clock, &watcher, "2024-03-01T10:00:06.100Z").await;
    assert!(
        recorder.firings().is_empty(),
        "within the grace, the claim is its scheduler's"
    );
    move_to(&clock, &watcher, "2024-03-01T10:00:06.300Z").await;
    let firings = recorder.firings();
    assert_eq!(firings.len(), 1, "{firings:?}");
    assert_eq!(firings[0].execution_id, "stalled", "the claimed execution");
    assert_eq!(
        firings[0].date,
        at("2024-03-01T10:00:01Z"),
        "the claimed slot"
    );
}

#[tokio::test]
async fn missed_slots_are_recovered_as_configured_while_a_claim_is_open() {
    let store = holding(TriggerState {
        execution_id: Some("running".into()),
        ..left_state()
    })
    .await;
    let (recorder, _started) = Recorder::new();
    *recorder.known.lock().expect("lock") = vec![("running".into(), State::Running)];
    let clock = Arc::new(Frozen(Mutex::new(at("2024-03-01T10:00:05.500Z"))));
    let stop = CancellationToken::new();
    let handle = Scheduler::start(options(store, recorder.clone(), clock), stop.clone());
    handle.flow_loaded(flow(
        "    cron: \"* * * * * *\"\n    withSeconds: true\n    recoverMissedSchedules: NONE\n",
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    handle.execution_ended("running", State::Success);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();
    assert!(
        recorder.firings().is_empty(),
        "NONE: the slots missed while the claim was open are not fired: {:?}",
        recorder.dates()
    );
}
