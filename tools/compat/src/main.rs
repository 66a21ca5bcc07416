//! Runs Kestra's own test flows (shared/compat/kestra) and compares each execution with what
//! Kestra's tests assert. Prints a table and ends with `compat: PASSED/TOTAL pass`.
//!
//! A baseline file lists the flows that passed before; with `--baseline`, a flow that passed
//! before and fails now makes the run fail.

mod checks;
mod environment;
mod expectations;
mod inputs_check;
mod roles;
mod scenario;
mod seeds;
mod split;
mod stored_files;
mod test_tasks;
mod test_time;
mod trigger_state;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use peregrine_model::Validator;
use peregrine_node::runtime::LocalRuntime;

use environment::{database_prefix, database_service, service_script, sqlite_root};
use expectations::Entry;
use scenario::Scenario;

#[derive(Debug, Parser)]
#[command(about = "Run Kestra's test flows and compare with Kestra's assertions")]
struct Options {
    /// The corpus folder (holding expectations.yaml and flows/).
    #[arg(long, default_value = "../shared/compat/kestra")]
    corpus: PathBuf,
    /// Where executions run: `memory` (every role in this process on in-memory state),
    /// `sqlite` (the standalone server's backends: every transition committed to an embedded
    /// SQLite database, files in a local folder; a fresh one per flow), `postgres` or `mysql`
    /// (the same on the private server `scripts/services/postgres|mariadb` starts; a fresh
    /// database per flow), `split-postgres` or `split-mysql` (the same, with this process's
    /// runtime as the executor only and the tasks run by three worker processes per flow).
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
    /// Run as a worker process of a split topology (started by the runner itself).
    /// Serve one role of a split topology (worker, executor, scheduler, webserver).
    #[arg(long, hide = true)]
    serve_role: Option<String>,
    /// The worker process's database: `postgres` or `mysql`.
    #[arg(long, hide = true)]
    worker_kind: Option<String>,
    /// The worker process's database URL.
    #[arg(long, hide = true)]
    worker_url: Option<String>,
    /// The worker process's storage folder.
    #[arg(long, hide = true)]
    worker_storage: Option<PathBuf>,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let result = if let Some(role) = &options.serve_role {
        split::Target::from_args(
            options.worker_kind.as_deref(),
            options.worker_url.as_deref(),
            options.worker_storage.as_ref(),
        )
        .and_then(|target| split::serve(&target, role))
    } else {
        run(options)
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(options: Options) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        environment::TOPOLOGIES.contains(&options.topology.as_str()),
        "topology '{}' is not available ({} are)",
        options.topology,
        environment::TOPOLOGIES.join(", ")
    );
    let entries = expectations::load(&options.corpus)?;
    let registry = Arc::new(test_tasks::registry());
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
    let mut ran = BTreeSet::new();
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
        ran.insert(entry.file.clone());
        let mut problems = run_entry(&options, &registry, entry, &entries);
        let mut note = String::new();
        if !problems.is_empty() && expected_to_pass.contains(entry.file.as_str()) {
            // Several of Kestra's flows depend on timing (Kestra retries those tests too): a flow
            // that passed before gets one more run before it counts as a regression.
            let first = problems.join("; ").replace('|', "\\|").replace('\n', " ");
            problems = run_entry(&options, &registry, entry, &entries);
            note = format!("passed on a second run; the first failed: {first}");
        }
        if problems.is_empty() {
            passed.insert(entry.file.clone());
            println!("| {} | pass | {note} |", entry.file);
        } else {
            let reason = problems.join("; ");
            println!(
                "| {} | FAIL | {} |",
                entry.file,
                reason.replace('|', "\\|").replace('\n', " ")
            );
        }
    }
    println!("\ncompat: {}/{total} pass", passed.len());
    let _ = std::fs::remove_dir_all(sqlite_root());
    if let Some(service) = database_service(&options.topology) {
        let _ = service_script(service, &["drop", &database_prefix()]);
    }
    let mut code = ExitCode::SUCCESS;
    if let Some(path) = &options.baseline {
        let before = match std::fs::read_to_string(path) {
            Err(error)
                if error.kind() == std::io::ErrorKind::NotFound && options.update_baseline =>
            {
                String::new()
            }
            read => read.with_context(|| format!("cannot read {}", path.display()))?,
        };
        // Flows a filter left out keep their line; only the flows run here are judged.
        let judged = |file: &str| ran.contains(file);
        let kept = before
            .lines()
            .map(str::trim)
            .filter(|file| !file.is_empty() && !judged(file));
        if options.update_baseline {
            let all: BTreeSet<&str> = kept.chain(passed.iter().map(String::as_str)).collect();
            let text: String = all.iter().map(|file| format!("{file}\n")).collect();
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        } else {
            let lost: Vec<&str> = before
                .lines()
                .map(str::trim)
                .filter(|file| judged(file) && !passed.contains(*file))
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
    entry: &Entry,
    entries: &[Entry],
) -> Vec<String> {
    let valids = options.corpus.join("flows/valids");
    let (flow, source) = match load_flow(registry, &valids.join(&entry.file)) {
        Ok((flow, source)) => (Arc::new(flow), source),
        Err(error) => return vec![format!("{error:#}")],
    };
    let mut sources = vec![source];
    let mut saved = BTreeSet::from([(flow.namespace.clone(), flow.id.clone())]);
    // Listener flows are started by their Flow trigger in Kestra's tests, not directly.
    let listener = !entry.related.is_empty()
        && flow
            .triggers
            .iter()
            .any(|trigger| trigger.common.type_name.ends_with("trigger.Flow"));
    let mut related = Vec::new();
    for uid in &entry.related {
        match find_related(registry, &valids, uid) {
            Ok((other, source)) => {
                if saved.insert((other.namespace.clone(), other.id.clone())) {
                    sources.push(source);
                }
                related.push(other);
            }
            Err(error) => return vec![format!("related flow {uid}: {error:#}")],
        }
    }
    // A runtime of its own: when the flow is done, dropping it stops every task the flow left
    // (timers, the event loop) and closes its database connections.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return vec![format!("cannot start a runtime: {error}")],
    };
    let problems = runtime.block_on(async {
        let environment = match environment::test_environment(&options.topology).await {
            Ok(environment) => environment,
            Err(error) => return vec![format!("{error:#}")],
        };
        let mut processes = environment.processes;
        let problems = run_scenario(
            options,
            registry,
            environment.options,
            processes.as_mut(),
            Loaded {
                entry,
                entries,
                flow,
                related,
                listener,
                sources,
            },
        )
        .await;
        if let Some(processes) = &mut processes {
            processes.stop();
        }
        problems
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    problems
}

/// A flow to run, with its related flows.
struct Loaded<'a> {
    entry: &'a Entry,
    entries: &'a [Entry],
    flow: Arc<peregrine_model::Flow>,
    related: Vec<peregrine_model::Flow>,
    listener: bool,
    /// The sources of the flow and the related flows, each once.
    sources: Vec<String>,
}

/// Starts the runtime, loads the flows and runs the scenario. With worker processes, the
/// runtime is the executor only: it reads their results once it has recovered, which comes
/// after loading the flows and before the first execution.
async fn run_scenario(
    options: &Options,
    registry: &Arc<peregrine_model::Registry>,
    runtime_options: peregrine_node::runtime::RuntimeOptions,
    processes: Option<&mut split::Processes>,
    loaded: Loaded<'_>,
) -> Vec<String> {
    let storage = runtime_options.services.storage.clone();
    let kv = runtime_options.services.kv.clone();
    let triggers = runtime_options.services.triggers.clone();
    let local =
        LocalRuntime::start_with_runners(registry.clone(), runtime_options, test_tasks::runners());
    for other in loaded.related {
        if let Err(error) = local.load(other) {
            return vec![error.to_string()];
        }
    }
    if let Err(error) = local.load(loaded.flow.as_ref().clone()) {
        return vec![error.to_string()];
    }
    let mut api = None;
    if let Some(processes) = processes {
        if let Err(error) = local.recover().await {
            return vec![format!("cannot recover: {error}")];
        }
        let said = match processes.ready(Duration::from_secs(30)).await {
            Ok(said) => said,
            Err(error) => return vec![error],
        };
        if environment::is_roles(&options.topology)
            && let Some(base) = said.last()
        {
            let roles_api = roles::Api::new(base.clone());
            for source in &loaded.sources {
                if let Err(error) = roles_api.save_flow(source.clone()).await {
                    return vec![error];
                }
            }
            api = Some(roles_api);
        }
    }
    let scenario = Scenario {
        entry: loaded.entry,
        entries: loaded.entries,
        flow: loaded.flow,
        registry,
        local,
        storage,
        kv,
        triggers,
        timeout: Duration::from_secs(options.timeout),
        listener: loaded.listener,
        api,
    };
    scenario.run().await
}

/// A related flow, named `namespace/id`, found among the corpus's valid flows.
fn find_related(
    registry: &peregrine_model::Registry,
    valids: &Path,
    uid: &str,
) -> anyhow::Result<(peregrine_model::Flow, String)> {
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
        if let Ok((flow, source)) = load_flow(registry, &path)
            && flow.namespace == namespace
            && flow.id == id
        {
            return Ok((flow, source));
        }
    }
    anyhow::bail!("not found in the corpus")
}

/// The flow of a file, and its source.
fn load_flow(
    registry: &peregrine_model::Registry,
    path: &Path,
) -> anyhow::Result<(peregrine_model::Flow, String)> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let report = Validator::new(registry).validate_one(&source);
    let flow = report.flow.ok_or_else(|| {
        let problems: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("invalid flow: {}", problems.join("; "))
    })?;
    Ok((flow, source))
}
