//! `peregrine flow test FILE [KEY=VALUE ...]`: one execution in this process, printed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use peregrine_model::Validator;
use peregrine_model::execution::Execution;
use peregrine_model::state::State;
use peregrine_node::local::{LocalRun, LocalRunError, run_flow};
use serde_json::{Map, Value};

pub fn run(
    file: &Path,
    flows: Option<&Path>,
    inputs: &[String],
    json: bool,
    timeout: u64,
) -> anyhow::Result<ExitCode> {
    let registry = std::sync::Arc::new(peregrine_node::catalogue());
    let source =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let syntax = peregrine_node::PebbleSyntax;
    let report = Validator::new(&registry)
        .with_expressions(&syntax)
        .validate_one(&source);
    let Some(flow) = report.flow else {
        for diagnostic in &report.diagnostics {
            eprintln!("{}:{diagnostic}", file.display());
        }
        return Ok(ExitCode::from(2));
    };
    let mut related = Vec::new();
    if let Some(folder) = flows {
        let mut files = Vec::new();
        super::flow::collect_files(folder, &mut files)?;
        for path in files.iter().filter(|path| path.as_path() != file) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            for report in Validator::new(&registry).validate_source(&text) {
                match report.flow {
                    Some(other) => related.push(other),
                    None => eprintln!("warning: {} is invalid and was not loaded", path.display()),
                }
            }
        }
    }
    let mut given = Map::new();
    for input in inputs {
        let Some((key, value)) = input.split_once('=') else {
            eprintln!("error: input '{input}' is not KEY=VALUE");
            return Ok(ExitCode::from(2));
        };
        given.insert(key.to_string(), Value::String(value.to_string()));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(run_flow(
        registry.clone(),
        flow,
        related,
        &given,
        Duration::from_secs(timeout),
    ));
    let run = match result {
        Ok(run) => run,
        Err(LocalRunError::Inputs(errors)) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            return Ok(ExitCode::from(2));
        }
        Err(error) => return Err(error.into()),
    };
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, &run.execution)?;
        writeln!(stdout)?;
    } else {
        print_human(&mut stdout, &run)?;
    }
    Ok(match run.execution.state.current {
        State::Success | State::Warning => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    })
}

fn print_human(out: &mut impl Write, run: &LocalRun) -> anyhow::Result<()> {
    let execution: &Execution = &run.execution;
    for line in &run.logs {
        let task = line.task_id.as_deref().unwrap_or("-");
        writeln!(
            out,
            "{} {:5?} [{task}] {}",
            line.timestamp, line.level, line.message
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "execution {} of {}.{}: {:?} in {}",
        execution.id,
        execution.namespace,
        execution.flow_id,
        execution.state.current,
        execution.state.duration.as_deref().unwrap_or("?")
    )?;
    for task_run in &execution.task_run_list {
        let depth = depth(execution, task_run.parent_task_run_id.as_deref());
        let value = task_run
            .value
            .as_deref()
            .map(|value| format!(" [{value}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}{}{value}: {:?}",
            "  ".repeat(depth),
            task_run.task_id,
            task_run.state.current
        )?;
    }
    if let Some(outputs) = &execution.outputs {
        writeln!(out, "outputs: {}", Value::Object(outputs.clone()))?;
    }
    Ok(())
}

fn depth(execution: &Execution, parent: Option<&str>) -> usize {
    let mut depth = 0;
    let mut current = parent;
    while let Some(id) = current {
        depth += 1;
        current = execution
            .task_run_list
            .iter()
            .find(|run| run.id == id)
            .and_then(|run| run.parent_task_run_id.as_deref());
    }
    depth
}
