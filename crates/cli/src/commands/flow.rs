//! `peregrine flow ...`: validate flow files, print the flow JSON Schema.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use peregrine_model::Validator;

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Check flow files (or every .yml/.yaml file in folders); exit 1 if any is invalid.
    ///
    /// Problems are printed as `file:line:col: path: message`.
    Validate {
        /// Flow files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print the JSON Schema of a flow, for editors (task properties branch on `type`).
    Schema,
    /// Deploy flows to a running server.
    #[command(subcommand)]
    Namespace(NamespaceCommand),
    /// Run one execution of a flow in this process, on throw-away state, and print it.
    ///
    /// Exit 0 when it ends in SUCCESS or WARNING, 1 in another state, 2 when the flow or the
    /// inputs are invalid.
    Test {
        /// The flow file.
        file: PathBuf,
        /// A folder of other flows to load (subflows and their children).
        #[arg(long)]
        flows: Option<PathBuf>,
        /// Inputs, as KEY=VALUE.
        inputs: Vec<String>,
        /// Print the execution as Kestra's execution JSON.
        #[arg(long)]
        json: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum NamespaceCommand {
    /// Create or update every flow of a folder (.yml, .yaml, recursively) in a namespace, in
    /// one all-or-nothing request; the namespace's other flows are deleted unless --no-delete.
    /// Exit 1 when the server refuses (each problem is printed with its line).
    Update {
        namespace: String,
        folder: PathBuf,
        /// The server's base URL.
        #[arg(long, default_value = "http://localhost:8080")]
        server: String,
        /// Keep the namespace's flows that are not in the folder.
        #[arg(long)]
        no_delete: bool,
    },
}

pub fn run(command: FlowCommand) -> anyhow::Result<ExitCode> {
    match command {
        FlowCommand::Namespace(NamespaceCommand::Update {
            namespace,
            folder,
            server,
            no_delete,
        }) => super::namespace::update(&namespace, &folder, &server, !no_delete),
        FlowCommand::Validate { paths } => validate(&paths),
        FlowCommand::Test {
            file,
            flows,
            inputs,
            json,
            timeout,
        } => super::flow_test::run(&file, flows.as_deref(), &inputs, json, timeout),
        FlowCommand::Schema => {
            let registry = peregrine_node::catalogue();
            let schema = peregrine_model::schema::flow_schema(&registry);
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut stdout, &schema)?;
            writeln!(stdout)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let registry = peregrine_node::catalogue();
    let syntax = peregrine_node::PebbleSyntax;
    let validator = Validator::new(&registry).with_expressions(&syntax);
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let (mut flows, mut invalid, mut problems) = (0usize, 0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    for file in &files {
        let source = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for report in validator.validate_source(&source) {
            flows += 1;
            if !report.is_valid() {
                invalid += 1;
            }
            for diagnostic in &report.diagnostics {
                problems += 1;
                writeln!(stdout, "{}:{diagnostic}", file.display())?;
            }
        }
    }
    eprintln!(
        "{flows} flow{} in {} file{}: {} valid, {invalid} invalid ({problems} problem{})",
        plural(flows),
        files.len(),
        plural(files.len()),
        flows - invalid,
        plural(problems)
    );
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// A file as given, or every `.yml`/`.yaml` file under a folder, in name order.
pub(super) fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !metadata.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let is_yaml = entry
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml");
        if entry.is_dir() || is_yaml {
            collect_files(&entry, files)?;
        }
    }
    Ok(())
}
