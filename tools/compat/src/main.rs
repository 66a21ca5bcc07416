//! Runs Kestra's own test flows (shared/compat/kestra) and compares each execution with what
//! Kestra's tests assert. Prints a table and ends with `compat: PASSED/TOTAL pass`.
//!
//! A baseline file lists the flows that passed before; with `--baseline`, a flow that passed
//! before and fails now makes the run fail.

mod checks;
mod expectations;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use peregrine_engine::Event;
use peregrine_model::Validator;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_node::runtime::{LocalRuntime, RuntimeOptions};
use serde_json::{Map, Value};

use expectations::{Case, Entry};

#[derive(Debug, Parser)]
#[command(about = "Run Kestra's test flows and compare with Kestra's assertions")]
struct Options {
    /// The corpus folder (holding expectations.yaml and flows/).
    #[arg(long, default_value = "../shared/compat/kestra")]
    corpus: PathBuf,
    /// Where executions run: `memory` (every role in this process on in-memory state) or
    /// `sqlite` (the standalone server's backends: every transition committed to an embedded
    /// SQLite database, files in a local folder; a fresh one per flow).
    #[arg(long, default_value = "memory")]
    topology: String,
    /// Only flows whose file name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Fail when a flow listed in this file (one file name per line) no longer passes.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Write the passing flows to the baseline file.
    #[arg(long)]
    update_baseline: bool,
    /// Seconds an execution may take.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn main() -> ExitCode {
    match run(Options::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(options: Options) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        matches!(options.topology.as_str(), "memory" | "sqlite"),
        "topology '{}' is not available (memory and sqlite are)",
        options.topology
    );
    let entries = expectations::load(&options.corpus)?;
    let registry = Arc::new(peregrine_node::catalogue());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut passed = BTreeSet::new();
    let baseline_text = match (&options.baseline, options.update_baseline) {
        (Some(path), false) => std::fs::read_to_string(path).unwrap_or_default(),
        _ => String::new(),
    };
    let expected_to_pass: BTreeSet<&str> = baseline_text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let mut total = 0;
    println!("| flow | result | reason |\n|---|---|---|");
    for entry in &entries {
        if options
            .filter
            .as_deref()
            .is_some_and(|filter| !entry.file.contains(filter))
        {
            continue;
        }
        total += 1;
        let mut problems = run_entry(&options, &registry, &runtime, entry);
        let mut note = "";
        if !problems.is_empty() && expected_to_pass.contains(entry.file.as_str()) {
            // Several of Kestra's flows depend on timing (Kestra retries those tests too): a flow
            // that passed before gets one more run before it counts as a regression.
            problems = run_entry(&options, &registry, &runtime, entry);
            note = "passed on a second run";
        }
        if problems.is_empty() {
            passed.insert(entry.file.clone());
            println!("| {} | pass | {note} |", entry.file);
        } else {
            println!(
                "| {} | FAIL | {} |",
                entry.file,
                problems.join("; ").replace('|', "\\|").replace('\n', " ")
            );
        }
    }
    println!("\ncompat: {}/{total} pass", passed.len());
    let _ = std::fs::remove_dir_all(sqlite_root());
    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &options.baseline {
        if options.update_baseline {
            let text: String = passed.iter().map(|file| format!("{file}\n")).collect();
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        } else {
            let before = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let lost: Vec<&str> = before
                .lines()
                .map(str::trim)
                .filter(|file| !file.is_empty() && !passed.contains(*file))
                .collect();
            if !lost.is_empty() {
                eprintln!(
                    "compat: {} flow(s) passed before and fail now: {}",
                    lost.len(),
                    lost.join(", ")
                );
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

fn run_entry(
    options: &Options,
    registry: &Arc<peregrine_model::Registry>,
    runtime: &tokio::runtime::Runtime,
    entry: &Entry,
) -> Vec<String> {
    let valids = options.corpus.join("flows/valids");
    let flow = match load_flow(registry, &valids.join(&entry.file)) {
        Ok(flow) => flow,
        Err(error) => return vec![format!("{error:#}")],
    };
    // Listener flows are started by their Flow trigger in Kestra's tests, not directly.
    let listener = !entry.related.is_empty()
        && flow
            .triggers
            .iter()
            .any(|trigger| trigger.common.type_name.ends_with("trigger.Flow"));
    let mut related = Vec::new();
    for uid in &entry.related {
        match find_related(registry, &valids, uid) {
            Ok(other) => related.push(other),
            Err(error) => return vec![format!("related flow {uid}: {error:#}")],
        }
    }
    runtime.block_on(async {
        let environment = match test_environment(&options.topology) {
            Ok(environment) => environment,
            Err(error) => return vec![format!("{error:#}")],
        };
        let local = LocalRuntime::start_with(registry.clone(), environment);
        for other in related {
            if let Err(error) = local.load(other) {
                return vec![error.to_string()];
            }
        }
        if let Err(error) = local.load(flow) {
            return vec![error.to_string()];
        }
        let mut problems = Vec::new();
        let mut previous: Option<String> = None;
        for (index, case) in entry.cases.iter().enumerate() {
            let label = if index == 0 {
                String::new()
            } else {
                format!("case {index}: ")
            };
            match run_case(options, &local, entry, case, previous.as_deref(), listener).await {
                Ok((id, execution)) => {
                    previous = Some(id);
                    let all = local.executions();
                    problems.extend(
                        checks::check(&case.expect, &execution, &all)
                            .into_iter()
                            .map(|problem| format!("{label}{problem}")),
                    );
                }
                Err(problem) => problems.push(format!("{label}{problem}")),
            }
        }
        problems
    })
}

/// Runs one case: a new execution, or a follow-up action on the previous one. Returns the
/// execution once it has settled (ended, or paused when the case expects PAUSED).
async fn run_case(
    options: &Options,
    local: &LocalRuntime,
    entry: &Entry,
    case: &Case,
    previous: Option<&str>,
    listener: bool,
) -> Result<(String, Execution), String> {
    let timeout = Duration::from_secs(options.timeout);
    let expects_paused = case.expect.get("state").and_then(Value::as_str) == Some("PAUSED");
    let action = case.action.as_deref().unwrap_or_default();
    if (listener || case.expect.contains_key("trigger_variables"))
        && action.is_empty()
        && case.inputs.is_empty()
    {
        return run_triggered(local, entry, timeout).await;
    }
    // A restart keeps the id: wait for the new attempt, not the old end.
    let mut attempt = 0;
    if action == "restart" {
        let id = previous.ok_or("no previous execution to restart")?;
        let before = local
            .wait_for(id, timeout, |execution| execution.state.is_terminated())
            .await
            .map_err(|error| error.to_string())?;
        attempt = before.metadata.attempt_number;
        local.send(id, Event::Restart);
    }
    let settled = move |execution: &Execution| {
        let ended = execution.state.is_terminated()
            || expects_paused && execution.state.current == State::Paused;
        ended && execution.metadata.attempt_number > attempt
    };
    let id = if action.starts_with("resume") || action.starts_with("mark task run") {
        if action.contains('<') {
            return Err(format!(
                "follow-up action with values made at test time not supported yet: {action}"
            ));
        }
        let id = previous
            .ok_or("no previous execution to act on")?
            .to_string();
        local
            .wait_for(&id, timeout, |execution| {
                execution.state.current == State::Paused
            })
            .await
            .map_err(|error| error.to_string())?;
        local.send(&id, Event::Resume { inputs: None });
        id
    } else if action == "restart" {
        previous
            .ok_or("no previous execution to restart")?
            .to_string()
    } else if action.starts_with("kill") {
        let id = start(local, entry, case)?;
        local
            .wait_for(&id, timeout, |execution| {
                execution
                    .task_run_list
                    .iter()
                    .any(|run| run.state.current == State::Running)
            })
            .await
            .map_err(|error| error.to_string())?;
        local.send(&id, Event::Kill);
        id
    } else if action.is_empty() {
        start(local, entry, case)?
    } else {
        return Err(format!("follow-up action not supported yet: {action}"));
    };
    let execution = local
        .wait_for(&id, timeout, settled)
        .await
        .map_err(|error| error.to_string())?;
    if let Some(expected) = case
        .expect
        .get("terminal_executions")
        .and_then(Value::as_array)
    {
        // Retries as new executions: wait for the whole chain to end.
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let of_flow: Vec<Execution> = local
                .executions()
                .into_iter()
                .filter(|other| other.namespace == entry.namespace && other.flow_id == entry.id)
                .collect();
            let all_ended = of_flow.iter().all(|other| other.state.is_terminated());
            if all_ended && of_flow.len() >= expected.len() || std::time::Instant::now() > deadline
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok((id, execution))
}

/// A flow started by its Flow trigger, as Kestra's test does: run the related (source) flows, then
/// take the execution of this flow they triggered, once it has ended.
async fn run_triggered(
    local: &LocalRuntime,
    entry: &Entry,
    timeout: Duration,
) -> Result<(String, Execution), String> {
    for uid in &entry.related {
        let uid = uid.split_whitespace().next().unwrap_or(uid);
        let (namespace, flow_id) = uid.split_once('/').unwrap_or(("", uid));
        let id = local
            .execute_unchecked(namespace, flow_id, Map::new())
            .map_err(|error| error.to_string())?;
        local
            .wait_for(&id, timeout, |execution| execution.state.is_terminated())
            .await
            .map_err(|error| error.to_string())?;
    }
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let triggered: Vec<Execution> = local
            .executions()
            .into_iter()
            .filter(|execution| {
                execution.namespace == entry.namespace && execution.flow_id == entry.id
            })
            .collect();
        if !triggered.is_empty()
            && triggered
                .iter()
                .all(|execution| execution.state.is_terminated())
        {
            let last = triggered
                .into_iter()
                .max_by_key(|execution| execution.state.start_date);
            if let Some(execution) = last {
                return Ok((execution.id.clone(), execution));
            }
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "no execution of {} was triggered and ended in time",
                entry.id
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn start(local: &LocalRuntime, entry: &Entry, case: &Case) -> Result<String, String> {
    if case
        .inputs
        .values()
        .any(|value| value.as_str().is_some_and(|text| text.starts_with('<')))
    {
        return Err("inputs made at test time (files, ids) are not supported yet".to_string());
    }
    let inputs: Map<String, Value> = case.inputs.clone();
    let labels = case
        .labels
        .iter()
        .map(|(key, value)| peregrine_model::flow::Label {
            key: key.clone(),
            value: value.clone(),
        })
        .collect();
    let started = local.execute_labelled(
        &entry.namespace,
        &entry.id,
        inputs,
        labels,
        !case.raw_inputs,
    );
    started.map_err(|error| error.to_string())
}

/// A related flow, named `namespace/id`, found among the corpus's valid flows.
fn find_related(
    registry: &peregrine_model::Registry,
    valids: &Path,
    uid: &str,
) -> anyhow::Result<peregrine_model::Flow> {
    let uid = uid.split_whitespace().next().unwrap_or(uid);
    let (namespace, id) = uid.split_once('/').unwrap_or(("", uid));
    let mut files: Vec<PathBuf> = std::fs::read_dir(valids)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    files.sort();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mentions =
            text.contains(&format!("id: {id}")) || text.contains(&format!("id: \"{id}\""));
        if !mentions {
            continue;
        }
        if let Ok(flow) = load_flow(registry, &path)
            && flow.namespace == namespace
            && flow.id == id
        {
            return Ok(flow);
        }
    }
    anyhow::bail!("not found in the corpus")
}

fn load_flow(
    registry: &peregrine_model::Registry,
    path: &Path,
) -> anyhow::Result<peregrine_model::Flow> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let report = Validator::new(registry).validate_one(&source);
    report.flow.ok_or_else(|| {
        let problems: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid flow: {}", problems.join("; "))
    })
}

/// What Kestra's build gives its tests: `KESTRA_TEST*` variables, `SECRET_*` variables and the
/// `kestra.variables.globals` of its test configuration; on the `sqlite` topology, a fresh
/// database and storage folder under the system's temporary folder (removed when the run ends).
fn test_environment(topology: &str) -> anyhow::Result<RuntimeOptions> {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let long = "passwordveryveryveyrlong".repeat(5);
    let secrets = peregrine_ports::secrets::EnvSecrets::from_vars([
        ("SECRET_MY_SECRET", encode(r#"{"secretKey":"secretValue"}"#)),
        ("SECRET_NEW_LINE", encode(&long)),
        ("SECRET_WEBHOOK_KEY", encode("secretKey")),
    ]);
    let mut options = RuntimeOptions::from_env();
    options.services.secrets = Arc::new(secrets);
    options.globals.envs = serde_json::json!({ "test1": "true", "test2": "Pass by env" });
    options.globals.globals =
        serde_json::json!({ "string": "string", "int": 1, "bool": true, "nested": { "int": 2 } });
    if topology == "sqlite" {
        let mut config = peregrine_node::config::ServerConfig::default();
        let folder = sqlite_folder()?;
        config.datasources.sqlite.path = folder.join("peregrine.db");
        config.kestra.storage.local.base_path = folder.join("storage");
        let backends = peregrine_node::backends::Backends::open(&config)?;
        let durable = backends.runtime_options();
        options.store = durable.store;
        options.services.storage = durable.services.storage;
        options.services.kv = durable.services.kv;
        // Kestra's tests read every execution back: keep them listed.
        options.keep_finished = usize::MAX;
    }
    Ok(options)
}

/// A new folder for one flow's database, under one folder per run of the runner.
fn sqlite_folder() -> anyhow::Result<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let folder = sqlite_root().join(NEXT.fetch_add(1, Ordering::Relaxed).to_string());
    std::fs::create_dir_all(&folder)?;
    Ok(folder)
}

fn sqlite_root() -> PathBuf {
    std::env::temp_dir().join(format!("peregrine-compat-{}", std::process::id()))
}
