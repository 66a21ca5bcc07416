//! Runs Kestra's own test flows (shared/compat/kestra) and compares each execution with what
//! Kestra's tests assert. Prints a table and ends with `compat: PASSED/TOTAL pass`.
//!
//! A baseline file lists the flows that passed before; with `--baseline`, a flow that passed
//! before and fails now makes the run fail.

mod checks;
mod expectations;
mod inputs_check;
mod scenario;
mod seeds;
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
use peregrine_node::runtime::{LocalRuntime, RuntimeOptions};

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
    /// database per flow).
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
        matches!(
            options.topology.as_str(),
            "memory" | "sqlite" | "postgres" | "mysql"
        ),
        "topology '{}' is not available (memory, sqlite, postgres and mysql are)",
        options.topology
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
        let mut note = "";
        if !problems.is_empty() && expected_to_pass.contains(entry.file.as_str()) {
            // Several of Kestra's flows depend on timing (Kestra retries those tests too): a flow
            // that passed before gets one more run before it counts as a regression.
            problems = run_entry(&options, &registry, entry, &entries);
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
        let kept = before
            .lines()
            .map(str::trim)
            .filter(|file| !file.is_empty() && !ran.contains(*file));
        if options.update_baseline {
            let all: BTreeSet<&str> = kept.chain(passed.iter().map(String::as_str)).collect();
            let text: String = all.iter().map(|file| format!("{file}\n")).collect();
            std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        } else {
            let lost: Vec<&str> = before
                .lines()
                .map(str::trim)
                .filter(|file| ran.contains(*file) && !passed.contains(*file))
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
    let flow = match load_flow(registry, &valids.join(&entry.file)) {
        Ok(flow) => Arc::new(flow),
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
        let environment = match test_environment(&options.topology).await {
            Ok(environment) => environment,
            Err(error) => return vec![format!("{error:#}")],
        };
        let storage = environment.services.storage.clone();
        let kv = environment.services.kv.clone();
        let triggers = environment.services.triggers.clone();
        let local =
            LocalRuntime::start_with_runners(registry.clone(), environment, test_tasks::runners());
        for other in related {
            if let Err(error) = local.load(other) {
                return vec![error.to_string()];
            }
        }
        if let Err(error) = local.load(flow.as_ref().clone()) {
            return vec![error.to_string()];
        }
        let scenario = Scenario {
            entry,
            entries,
            flow,
            registry,
            local,
            storage,
            kv,
            triggers,
            timeout: Duration::from_secs(options.timeout),
            listener,
        };
        scenario.run().await
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    problems
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
async fn test_environment(topology: &str) -> anyhow::Result<RuntimeOptions> {
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
    if topology != "memory" {
        use peregrine_node::config::{RepositoryType, ServerConfig};
        let mut config = ServerConfig::default();
        let folder = sqlite_folder()?;
        config.datasources.sqlite.path = folder.join("peregrine.db");
        config.kestra.storage.local.base_path = folder.join("storage");
        if let Some(service) = database_service(topology) {
            let name = folder
                .file_name()
                .map(|name| format!("{}{}", database_prefix(), name.to_string_lossy()))
                .unwrap_or_default();
            let url = service_script(service, &["database", &name])?;
            let (kind, datasource) = if service == "postgres" {
                (RepositoryType::Postgres, &mut config.datasources.postgres)
            } else {
                (RepositoryType::Mysql, &mut config.datasources.mysql)
            };
            datasource.url = url;
            datasource.maximum_pool_size = 4;
            config.kestra.repository.kind = kind;
            config.kestra.queue.kind = kind;
        }
        let backends = peregrine_node::backends::Backends::open(&config).await?;
        let durable = backends.runtime_options();
        options.store = durable.store;
        options.services.storage = durable.services.storage;
        options.services.kv = durable.services.kv;
        options.services.triggers = durable.services.triggers;
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

/// The script starting the database server of a topology, if it has one.
fn database_service(topology: &str) -> Option<&'static str> {
    match topology {
        "postgres" => Some("postgres"),
        "mysql" => Some("mariadb"),
        _ => None,
    }
}

/// This run's databases start with this.
fn database_prefix() -> String {
    format!("compat_{}_", std::process::id())
}

/// Runs `scripts/services/SERVICE ARGS...` (which starts the server when it is not running)
/// and returns the last line it printed.
fn service_script(service: &str, args: &[&str]) -> anyhow::Result<String> {
    let script = Path::new("scripts/services").join(service);
    let output = std::process::Command::new(&script)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{} {}: {}",
        script.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string())
}

fn sqlite_root() -> PathBuf {
    std::env::temp_dir().join(format!("peregrine-compat-{}", std::process::id()))
}
