//! The contracts of [`ExecutionStore`], and of the execution and log repositories the same
//! backend serves to the API.

use jiff::Timestamp;
use peregrine_model::execution::{Execution, ExecutionMetadata, StateHistory, TaskRun};
use peregrine_model::log::{LogEntry, LogLevel};
use peregrine_model::state::State;
use serde_json::json;

use crate::partition::Partitions;
use crate::repository::{
    ExecutionQuery, ExecutionRepository, LogPaging, LogQuery, LogRepository, PurgeQuery,
    PurgedExecution,
};
use crate::store::{Commit, ExecutionBackend as Backend, OutboxRow, ParentLink, Transition};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("valid instant")
}

fn header(id: &str, namespace: &str, state: State, started: i64) -> Execution {
    let mut history = StateHistory::new(State::Created, at(started));
    history.set(state, at(started + 1));
    Execution {
        id: id.into(),
        namespace: namespace.into(),
        flow_id: "f".into(),
        flow_revision: 1,
        state: history,
        task_run_list: Vec::new(),
        inputs: Some(json!({"a": 1}).as_object().cloned().unwrap_or_default()),
        outputs: None,
        labels: Vec::new(),
        variables: None,
        parent_id: None,
        original_id: None,
        trigger: None,
        metadata: ExecutionMetadata {
            attempt_number: 1,
            original_created_date: at(started),
        },
        schedule_date: None,
        deleted: false,
    }
}

fn run(execution_id: &str, id: &str, state: State) -> TaskRun {
    TaskRun {
        id: id.into(),
        execution_id: execution_id.into(),
        namespace: "team".into(),
        flow_id: "f".into(),
        task_id: format!("task-{id}"),
        parent_task_run_id: None,
        value: None,
        iteration: None,
        attempts: Vec::new(),
        outputs: None,
        state: StateHistory::new(state, at(0)),
    }
}

fn first(execution_id: &str, state: State, runs: &[(&str, State)]) -> Transition {
    Transition {
        execution_id: execution_id.into(),
        header: Some(header(execution_id, "team", state, 0)),
        task_runs: runs
            .iter()
            .enumerate()
            .map(|(position, (id, state))| (position, run(execution_id, id, *state)))
            .collect(),
        root: Some(json!({"items": ["root"]})),
        ..Transition::default()
    }
}

async fn commit(store: &dyn Backend, commit: Commit) {
    store
        .commit(std::sync::Arc::new(commit))
        .await
        .expect("commit succeeds");
}

pub async fn a_commit_is_read_back_whole(store: &dyn Backend) {
    let mut transition = first(
        "e1",
        State::Running,
        &[("a", State::Success), ("b", State::Running)],
    );
    transition.frames = vec![("b".into(), json!({"items": [1, 2]}))];
    transition.parent = Some(ParentLink {
        execution_id: "p".into(),
        task_run_id: "pt".into(),
    });
    commit(
        store,
        Commit {
            transitions: vec![transition],
            ..Commit::default()
        },
    )
    .await;
    let stored = store.load("e1").await.expect("load").expect("stored");
    let ids: Vec<&str> = stored
        .execution
        .task_run_list
        .iter()
        .map(|run| run.id.as_str())
        .collect();
    assert_eq!(ids, vec!["a", "b"]);
    assert_eq!(stored.execution.state.current, State::Running);
    assert_eq!(
        stored.frames,
        vec![("b".to_string(), json!({"items": [1, 2]}))]
    );
    assert_eq!(stored.root, Some(json!({"items": ["root"]})));
    assert_eq!(
        stored.parent.map(|parent| parent.task_run_id),
        Some("pt".into())
    );
    let execution = ExecutionRepository::get(store, "e1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(execution, stored.execution);
    assert_eq!(store.load("other").await, Ok(None));
}

pub async fn later_commits_change_only_what_they_carry(store: &dyn Backend) {
    commit(
        store,
        Commit {
            transitions: vec![first("e1", State::Running, &[("a", State::Running)])],
            ..Commit::default()
        },
    )
    .await;
    let mut header = header("e1", "team", State::Running, 0);
    header.state.set(State::Success, at(5));
    let step = Transition {
        execution_id: "e1".into(),
        header: Some(header),
        task_runs: vec![
            (0, run("e1", "a", State::Success)),
            (1, run("e1", "c", State::Success)),
        ],
        frames: vec![("c".into(), json!({"x": 1}))],
        ..Transition::default()
    };
    commit(
        store,
        Commit {
            transitions: vec![step],
            ..Commit::default()
        },
    )
    .await;
    let stored = store.load("e1").await.expect("load").expect("stored");
    let states: Vec<(String, State)> = stored
        .execution
        .task_run_list
        .iter()
        .map(|run| (run.id.clone(), run.state.current))
        .collect();
    assert_eq!(
        states,
        vec![("a".into(), State::Success), ("c".into(), State::Success)]
    );
    assert_eq!(stored.execution.state.current, State::Success);
    assert_eq!(
        stored.root,
        Some(json!({"items": ["root"]})),
        "the root frame stays"
    );
    let removal = Transition {
        execution_id: "e1".into(),
        removed: vec!["c".into()],
        ..Transition::default()
    };
    commit(
        store,
        Commit {
            transitions: vec![removal],
            ..Commit::default()
        },
    )
    .await;
    let stored = store.load("e1").await.expect("load").expect("stored");
    assert_eq!(stored.execution.task_run_list.len(), 1);
    assert!(
        stored.frames.is_empty(),
        "a removed task run takes its frame along"
    );
}

pub async fn unfinished_lists_only_executions_not_terminated(store: &dyn Backend) {
    let transitions = vec![
        first("running", State::Running, &[]),
        first("paused", State::Paused, &[]),
        first("done", State::Success, &[]),
        first("failed", State::Failed, &[]),
    ];
    commit(
        store,
        Commit {
            transitions,
            ..Commit::default()
        },
    )
    .await;
    let mut ids: Vec<String> = store
        .unfinished(&Partitions::All)
        .await
        .expect("unfinished")
        .into_iter()
        .map(|stored| stored.execution.id)
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["paused", "running"]);
}

/// An id whose partition (among `count`) is `partition`.
pub(crate) fn id_in(partition: u16, count: u16, stem: &str) -> String {
    (0..)
        .map(|n| format!("{stem}-{n}"))
        .find(|id| crate::partition::of(id, count) == partition)
        .unwrap_or_default()
}

pub async fn unfinished_and_outbox_are_read_by_partition(store: &dyn Backend) {
    let count = store.partition_count();
    assert!(count >= 2, "a database has several partitions ({count})");
    let first_id = id_in(0, count, "first");
    let second_id = id_in(1, count, "second");
    let ended_id = id_in(0, count, "ended");
    commit(
        store,
        Commit {
            transitions: vec![
                first(&first_id, State::Running, &[]),
                first(&second_id, State::Running, &[]),
                first(&ended_id, State::Success, &[]),
            ],
            put: vec![row(&first_id, "job:a", 1), row(&second_id, "job:a", 2)],
            ..Commit::default()
        },
    )
    .await;
    let unfinished = |partitions: Partitions| async move {
        let mut ids: Vec<String> = store
            .unfinished(&partitions)
            .await
            .expect("unfinished")
            .into_iter()
            .map(|stored| stored.execution.id)
            .collect();
        ids.sort();
        ids
    };
    let outbox = |partitions: Partitions| async move {
        let mut ids: Vec<String> = store
            .outbox(&partitions)
            .await
            .expect("outbox")
            .into_iter()
            .map(|row| row.execution_id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        unfinished(Partitions::Only(vec![0])).await,
        vec![first_id.clone()]
    );
    assert_eq!(
        unfinished(Partitions::Only(vec![1])).await,
        vec![second_id.clone()]
    );
    assert_eq!(unfinished(Partitions::Only(vec![0, 1])).await.len(), 2);
    assert_eq!(unfinished(Partitions::Only(Vec::new())).await.len(), 0);
    assert_eq!(unfinished(Partitions::All).await.len(), 2);
    assert_eq!(outbox(Partitions::Only(vec![1])).await, vec![second_id]);
    assert_eq!(outbox(Partitions::Only(vec![0])).await, vec![first_id]);
    assert_eq!(outbox(Partitions::Only(vec![2])).await.len(), 0);
    assert_eq!(outbox(Partitions::All).await.len(), 2);
}

fn row(execution_id: &str, key: &str, value: i64) -> OutboxRow {
    OutboxRow {
        execution_id: execution_id.into(),
        key: key.into(),
        payload: json!({"value": value}),
    }
}

pub async fn outbox_rows_live_until_done(store: &dyn Backend) {
    let put = vec![
        row("e1", "job:a", 1),
        row("e1", "job:b", 2),
        row("e1", "timer:x", 3),
        row("e2", "job:a", 4),
    ];
    commit(
        store,
        Commit {
            put,
            ..Commit::default()
        },
    )
    .await;
    commit(
        store,
        Commit {
            put: vec![row("e1", "job:a", 5)],
            ..Commit::default()
        },
    )
    .await;
    let mut rows = store.outbox(&Partitions::All).await.expect("outbox");
    rows.sort_by(|a, b| (&a.execution_id, &a.key).cmp(&(&b.execution_id, &b.key)));
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        row("e1", "job:a", 5),
        "a put replaces the row with the same key"
    );
    let done = Commit {
        done: vec![("e1".into(), "timer:x".into())],
        done_prefix: vec![("e1".into(), "job:".into())],
        ..Commit::default()
    };
    commit(store, done).await;
    let rows = store.outbox(&Partitions::All).await.expect("outbox");
    assert_eq!(rows, vec![row("e2", "job:a", 4)]);
}

pub async fn search_filters_pages_and_sorts_newest_first(store: &dyn Backend) {
    let mut transitions = Vec::new();
    for (index, (id, namespace, state)) in [
        ("e1", "team", State::Success),
        ("e2", "team.sub", State::Failed),
        ("e3", "other", State::Success),
        ("e4", "team", State::Success),
    ]
    .into_iter()
    .enumerate()
    {
        let mut transition = first(id, state, &[]);
        transition.header = Some(header(id, namespace, state, index as i64 * 10));
        transitions.push(transition);
    }
    commit(
        store,
        Commit {
            transitions,
            ..Commit::default()
        },
    )
    .await;
    let query = ExecutionQuery {
        namespace: Some("team".into()),
        page: 1,
        size: 2,
        ..ExecutionQuery::default()
    };
    let page = store.search(&query).await.expect("search");
    assert_eq!(page.total, 3);
    let ids: Vec<&str> = page
        .results
        .iter()
        .map(|execution| execution.id.as_str())
        .collect();
    assert_eq!(ids, vec!["e4", "e2"]);
    let query = ExecutionQuery { page: 2, ..query };
    let page = store.search(&query).await.expect("search");
    assert_eq!(page.results.len(), 1);
    let query = ExecutionQuery {
        states: vec![State::Failed],
        page: 1,
        size: 10,
        ..ExecutionQuery::default()
    };
    let page = store.search(&query).await.expect("search");
    assert_eq!(
        page.results
            .iter()
            .map(|execution| execution.id.as_str())
            .collect::<Vec<_>>(),
        vec!["e2"]
    );
}

pub async fn delete_removes_the_execution_and_its_outbox(store: &dyn Backend) {
    commit(
        store,
        Commit {
            transitions: vec![first("e1", State::Success, &[("a", State::Success)])],
            put: vec![row("e1", "ended", 1)],
            ..Commit::default()
        },
    )
    .await;
    assert_eq!(ExecutionRepository::delete(store, "e1").await, Ok(true));
    assert_eq!(ExecutionRepository::delete(store, "e1").await, Ok(false));
    assert_eq!(store.load("e1").await, Ok(None));
    assert_eq!(store.outbox(&Partitions::All).await, Ok(Vec::new()));
}

fn line(execution_id: &str, task_id: Option<&str>, level: LogLevel, message: &str) -> LogEntry {
    LogEntry {
        namespace: "team".into(),
        flow_id: "f".into(),
        execution_id: execution_id.into(),
        task_id: task_id.map(str::to_string),
        task_run_id: task_id.map(|id| format!("run-{id}")),
        attempt_number: None,
        timestamp: at(1),
        level,
        message: message.into(),
    }
}

pub async fn logs_come_back_in_order_and_filtered(store: &dyn Backend) {
    commit(
        store,
        Commit {
            logs: vec![
                line("e1", Some("a"), LogLevel::Info, "one"),
                line("e2", None, LogLevel::Info, "other"),
            ],
            ..Commit::default()
        },
    )
    .await;
    store
        .append(vec![
            line("e1", Some("b"), LogLevel::Warn, "two"),
            line("e1", None, LogLevel::Error, "three"),
        ])
        .await
        .expect("append");
    let query = LogQuery {
        execution_id: Some("e1".into()),
        ..LogQuery::default()
    };
    let messages: Vec<String> = store
        .find(&query)
        .await
        .expect("find")
        .into_iter()
        .map(|line| line.message)
        .collect();
    assert_eq!(messages, vec!["one", "two", "three"]);
    let query = LogQuery {
        execution_id: Some("e1".into()),
        min_level: Some(LogLevel::Warn),
        ..LogQuery::default()
    };
    assert_eq!(store.find(&query).await.map(|lines| lines.len()), Ok(2));
    let query = LogQuery {
        execution_id: Some("e1".into()),
        task_id: Some("b".into()),
        ..LogQuery::default()
    };
    let found = store.find(&query).await.expect("find");
    assert_eq!(found, vec![line("e1", Some("b"), LogLevel::Warn, "two")]);
    assert_eq!(store.delete_execution("e1").await, Ok(3));
    assert_eq!(
        store
            .find(&LogQuery::default())
            .await
            .map(|lines| lines.len()),
        Ok(1)
    );
}

/// A line of flow `flow_id` (execution `e-{flow_id}`) in `namespace`, written at `second`.
fn entry(namespace: &str, flow_id: &str, second: i64, level: LogLevel, message: &str) -> LogEntry {
    LogEntry {
        namespace: namespace.into(),
        flow_id: flow_id.into(),
        timestamp: at(second),
        ..line(&format!("e-{flow_id}"), None, level, message)
    }
}

pub async fn log_search_filters_pages_and_sorts_newest_first(store: &dyn Backend) {
    let lines = vec![
        entry("company", "a", 1, LogLevel::Info, "Hello one"),
        entry("company.team", "b", 2, LogLevel::Warn, "hello two"),
        entry("other", "c", 3, LogLevel::Error, "three"),
        entry("company.team", "b", 4, LogLevel::Debug, "HELLO four"),
        entry("companyx", "d", 5, LogLevel::Info, "hello five"),
    ];
    store.append(lines).await.expect("append");
    let search = |query: LogQuery, page: usize, size: usize, oldest_first: bool| async move {
        let paging = LogPaging {
            page,
            size,
            oldest_first,
        };
        let found = store.page(&query, paging).await.expect("page");
        let messages: Vec<String> = found.results.into_iter().map(|l| l.message).collect();
        (messages, found.total)
    };

    let all = search(LogQuery::default(), 1, 2, false).await;
    assert_eq!(all, (vec!["hello five".into(), "HELLO four".into()], 5));
    let second = search(LogQuery::default(), 2, 2, false).await;
    assert_eq!(second, (vec!["three".into(), "hello two".into()], 5));
    let oldest = search(LogQuery::default(), 3, 2, true).await;
    assert_eq!(oldest, (vec!["hello five".into()], 5));
    let beyond = search(LogQuery::default(), 4, 2, false).await;
    assert_eq!(beyond, (Vec::<String>::new(), 5));

    let tree = LogQuery {
        namespace: Some("company".into()),
        ..LogQuery::default()
    };
    let found = search(tree, 1, 10, true).await;
    let expected = ["Hello one", "hello two", "HELLO four"].map(String::from);
    assert_eq!(
        found,
        (expected.to_vec(), 3),
        "a namespace holds its children only"
    );

    let text = LogQuery {
        text: Some("hello".into()),
        flow_id: Some("b".into()),
        min_level: Some(LogLevel::Info),
        ..LogQuery::default()
    };
    assert_eq!(
        search(text, 1, 10, false).await,
        (vec!["hello two".into()], 1)
    );

    let window = LogQuery {
        from: Some(at(2)),
        to: Some(at(4)),
        ..LogQuery::default()
    };
    let expected = ["HELLO four", "three", "hello two"].map(String::from);
    assert_eq!(
        search(window, 1, 10, false).await,
        (expected.to_vec(), 3),
        "both ends are inclusive"
    );
}

/// A purge, its result sorted by id.
async fn purge(store: &dyn Backend, query: &PurgeQuery, limit: usize, logs: bool) -> Vec<String> {
    let purged = ExecutionRepository::purge(store, query, limit, logs)
        .await
        .expect("purge");
    let mut ids: Vec<String> = purged.into_iter().map(|execution| execution.id).collect();
    ids.sort();
    ids
}

async fn log_messages(store: &dyn Backend, execution_id: &str) -> Vec<String> {
    let query = LogQuery {
        execution_id: Some(execution_id.into()),
        ..LogQuery::default()
    };
    let lines = store.find(&query).await.expect("find");
    lines.into_iter().map(|line| line.message).collect()
}

pub async fn purge_removes_only_ended_executions_in_the_window(store: &dyn Backend) {
    let mut transitions = Vec::new();
    let mut put = Vec::new();
    let mut logs = Vec::new();
    for (id, namespace, flow_id, state, started) in [
        ("before", "team", "f", State::Success, 5),
        ("at-after", "team", "f", State::Success, 10),
        ("child", "team.sub", "f", State::Failed, 20),
        ("killed", "team", "f", State::Killed, 25),
        ("at-before", "team", "f", State::Warning, 30),
        ("after", "team", "f", State::Success, 31),
        ("running", "team", "f", State::Running, 15),
        ("paused", "team", "f", State::Paused, 15),
        ("created", "team", "f", State::Created, 15),
        ("other-namespace", "teamx", "f", State::Success, 15),
        ("other-flow", "team", "g", State::Success, 15),
    ] {
        let mut transition = first(id, state, &[("a", State::Success), ("b", state)]);
        let mut execution = header(id, namespace, state, started);
        execution.flow_id = flow_id.into();
        transition.header = Some(execution);
        transition.frames = vec![("b".into(), json!({"items": [id]}))];
        transition.parent = Some(ParentLink {
            execution_id: "parent".into(),
            task_run_id: format!("for-{id}"),
        });
        transitions.push(transition);
        put.push(row(id, "ended", 1));
        logs.push(line(id, Some("a"), LogLevel::Info, id));
    }
    commit(
        store,
        Commit {
            transitions,
            put,
            logs,
            ..Commit::default()
        },
    )
    .await;

    let window = PurgeQuery {
        namespace: Some("team".into()),
        flow_id: Some("f".into()),
        started_after: Some(at(10)),
        started_before: at(30),
        states: vec![State::Failed, State::Running, State::Paused],
    };
    assert_eq!(
        ExecutionRepository::purge(store, &window, 10, true).await,
        Ok(vec![PurgedExecution {
            id: "child".into(),
            namespace: "team.sub".into(),
            flow_id: "f".into(),
        }]),
        "listed states that have not ended are not purged"
    );
    let window = PurgeQuery {
        states: Vec::new(),
        ..window
    };
    assert_eq!(
        purge(store, &window, 2, true).await,
        vec!["at-after", "killed"],
        "the oldest first, both ends of the window inclusive"
    );
    assert_eq!(purge(store, &window, 2, false).await, vec!["at-before"]);
    assert_eq!(purge(store, &window, 2, true).await, Vec::<String>::new());

    let purged = ["child", "at-after", "killed", "at-before"];
    for id in purged {
        assert_eq!(store.load(id).await, Ok(None), "{id} is gone");
        assert_eq!(ExecutionRepository::get(store, id).await, Ok(None));
    }
    let query = ExecutionQuery {
        page: 1,
        size: 100,
        ..ExecutionQuery::default()
    };
    let mut kept: Vec<String> = store
        .search(&query)
        .await
        .expect("search")
        .results
        .into_iter()
        .map(|execution| execution.id)
        .collect();
    kept.sort();
    let expected = [
        "after",
        "before",
        "created",
        "other-flow",
        "other-namespace",
        "paused",
        "running",
    ];
    assert_eq!(kept, expected);
    let mut owing: Vec<String> = store
        .outbox(&Partitions::All)
        .await
        .expect("outbox")
        .into_iter()
        .map(|row| row.execution_id)
        .collect();
    owing.sort();
    assert_eq!(
        owing, expected,
        "the outbox rows of purged executions are gone"
    );
    let mut unfinished: Vec<String> = store
        .unfinished(&Partitions::All)
        .await
        .expect("unfinished")
        .into_iter()
        .map(|stored| stored.execution.id)
        .collect();
    unfinished.sort();
    assert_eq!(unfinished, vec!["created", "paused", "running"]);

    for id in ["child", "at-after", "killed"] {
        assert!(log_messages(store, id).await.is_empty(), "{id} logs purged");
    }
    assert_eq!(
        log_messages(store, "at-before").await,
        vec!["at-before"],
        "logs stay when not asked"
    );
    for id in expected {
        assert_eq!(
            log_messages(store, id).await,
            vec![id],
            "{id} keeps its logs"
        );
    }

    // The same id written again starts from nothing: no task run, frame, root or parent left.
    let again = Transition {
        execution_id: "at-after".into(),
        header: Some(header("at-after", "team", State::Running, 40)),
        ..Transition::default()
    };
    commit(
        store,
        Commit {
            transitions: vec![again],
            ..Commit::default()
        },
    )
    .await;
    let stored = store.load("at-after").await.expect("load").expect("stored");
    assert!(stored.execution.task_run_list.is_empty());
    assert!(stored.frames.is_empty());
    assert_eq!((stored.root, stored.parent), (None, None));

    let everything = PurgeQuery {
        namespace: None,
        flow_id: None,
        started_after: None,
        started_before: at(100),
        states: Vec::new(),
    };
    assert_eq!(
        purge(store, &everything, 100, true).await,
        vec!["after", "before", "other-flow", "other-namespace"],
        "without filters, every ended execution"
    );
    assert_eq!(
        purge(store, &everything, 0, true).await,
        Vec::<String>::new()
    );
}

pub async fn log_purge_filters_by_query_and_level(store: &dyn Backend) {
    let lines = vec![
        entry("company", "a", 1, LogLevel::Info, "one"),
        entry("company.team", "b", 2, LogLevel::Debug, "two"),
        entry("company.team", "b", 3, LogLevel::Warn, "three"),
        entry("other", "c", 2, LogLevel::Info, "four"),
        entry("companyx", "d", 2, LogLevel::Info, "five"),
        entry("company", "a", 5, LogLevel::Error, "six"),
    ];
    store.append(lines).await.expect("append");
    let remaining = || async move {
        let lines = store.find(&LogQuery::default()).await.expect("find");
        lines
            .into_iter()
            .map(|line| line.message)
            .collect::<Vec<_>>()
    };

    let tree = LogQuery {
        namespace: Some("company".into()),
        to: Some(at(3)),
        ..LogQuery::default()
    };
    let levels = vec![LogLevel::Info, LogLevel::Debug];
    assert_eq!(LogRepository::purge(store, &tree, levels).await, Ok(2));
    assert_eq!(remaining().await, vec!["three", "four", "five", "six"]);

    let instant = LogQuery {
        flow_id: Some("b".into()),
        from: Some(at(3)),
        to: Some(at(3)),
        ..LogQuery::default()
    };
    assert_eq!(
        LogRepository::purge(store, &instant, Vec::new()).await,
        Ok(1),
        "both ends are inclusive, every level when none is given"
    );

    let errors = LogQuery {
        to: Some(at(10)),
        ..LogQuery::default()
    };
    let levels = vec![LogLevel::Error];
    assert_eq!(
        LogRepository::purge(store, &errors, levels.clone()).await,
        Ok(1)
    );
    assert_eq!(LogRepository::purge(store, &errors, levels).await, Ok(0));
    assert_eq!(remaining().await, vec!["four", "five"]);

    let execution = LogQuery {
        execution_id: Some("e-c".into()),
        to: Some(at(10)),
        ..LogQuery::default()
    };
    assert_eq!(
        LogRepository::purge(store, &execution, Vec::new()).await,
        Ok(1)
    );
    assert_eq!(remaining().await, vec!["five"]);
}
