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
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use peregrine_model::Validator;
use serde_json::{Map, Value};

use expectations::{Case, Entry};

#[derive(Debug, Parser)]
#[command(about = "Run Kestra's test flows and compare with Kestra's assertions")]
struct Options {
    /// The corpus folder (holding expectations.yaml and flows/).
    #[arg(long, default_value = "../shared/compat/kestra")]
    corpus: PathBuf,
    /// Where executions run: `memory` (in this process) is the one topology so far.
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
        options.topology == "memory",
        "topology '{}' is not available yet (memory is)",
        options.topology
    );
    let entries = expectations::load(&options.corpus)?;
    let registry = peregrine_node::catalogue();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut passed = BTreeSet::new();
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
        let problems = run_entry(&options, &registry, &runtime, entry);
        if problems.is_empty() {
            passed.insert(entry.file.clone());
            println!("| {} | pass | |", entry.file);
        } else {
            println!(
                "| {} | FAIL | {} |",
                entry.file,
                problems.join("; ").replace('|', "\\|").replace('\n', " ")
            );
        }
    }
    println!("\ncompat: {}/{total} pass", passed.len());
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
    registry: &peregrine_model::Registry,
    runtime: &tokio::runtime::Runtime,
    entry: &Entry,
) -> Vec<String> {
    let path = options.corpus.join("flows/valids").join(&entry.file);
    let flow = match load_flow(registry, &path) {
        Ok(flow) => flow,
        Err(error) => return vec![format!("{error:#}")],
    };
    let mut problems = Vec::new();
    for (index, case) in entry.cases.iter().enumerate() {
        let label = if index == 0 {
            String::new()
        } else {
            format!("case {index}: ")
        };
        for problem in run_case(options, registry, runtime, flow.clone(), case) {
            problems.push(format!("{label}{problem}"));
        }
    }
    let _ = (&entry.namespace, &entry.id, &entry.requires, &entry.related);
    problems
}

fn run_case(
    options: &Options,
    registry: &peregrine_model::Registry,
    runtime: &tokio::runtime::Runtime,
    flow: peregrine_model::Flow,
    case: &Case,
) -> Vec<String> {
    if let Some(action) = &case.action {
        return vec![format!("follow-up action not supported yet: {action}")];
    }
    if case
        .inputs
        .values()
        .any(|value| value.as_str().is_some_and(|text| text.starts_with('<')))
    {
        return vec!["inputs made at test time (files, ids) are not supported yet".to_string()];
    }
    let inputs: Map<String, Value> = case.inputs.clone();
    let result = runtime.block_on(peregrine_node::local::run_flow(
        registry,
        flow,
        &inputs,
        Duration::from_secs(options.timeout),
    ));
    match result {
        Ok(run) => checks::check(&case.expect, &run.execution),
        Err(error) => vec![error.to_string()],
    }
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
