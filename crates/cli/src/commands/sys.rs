//! `peregrine sys purge`: retention on the backends a configuration names, from the command
//! line (a cron job, a maintenance window) while servers run or not.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use jiff::{SpanRelativeTo, Timestamp, Unit};
use peregrine_node::backends::Backends;
use peregrine_node::config::ServerConfig;
use peregrine_ports::retention::{Cutoffs, purge_older};

#[derive(Debug, Subcommand)]
pub enum SysCommand {
    /// Delete ended executions (with their log lines and files) and log lines older than a
    /// date, on the backends of a configuration file or of environment variables.
    Purge {
        /// The configuration file (YAML); without one, environment variables and defaults.
        #[arg(long, short = 'c')]
        config: Option<PathBuf>,
        /// What started before now minus this (`30d`, `12h`, `P30D`) goes.
        #[arg(long, conflicts_with = "before")]
        older_than: Option<String>,
        /// What started before this instant (`2026-01-01T00:00:00Z`) goes.
        #[arg(long)]
        before: Option<String>,
        /// Only this namespace and the namespaces below it.
        #[arg(long)]
        namespace: Option<String>,
        /// Only this flow (with --namespace).
        #[arg(long, requires = "namespace")]
        flow_id: Option<String>,
        /// Delete only log lines; executions stay.
        #[arg(long)]
        logs_only: bool,
        /// Keep the files of deleted executions in internal storage.
        #[arg(long)]
        keep_files: bool,
    },
}

pub fn run(command: SysCommand) -> anyhow::Result<ExitCode> {
    let SysCommand::Purge {
        config,
        older_than,
        before,
        namespace,
        flow_id,
        logs_only,
        keep_files,
    } = command;
    let cutoff = cutoff(older_than.as_deref(), before.as_deref(), Timestamp::now())?;
    let config = match config {
        Some(path) => ServerConfig::read(&path)?,
        None => ServerConfig::from_env()?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let backends = Backends::open(&config).await?;
        let cutoffs = Cutoffs {
            namespace,
            flow_id,
            executions_before: (!logs_only).then_some(cutoff),
            logs_before: Some(cutoff),
            keep_files,
        };
        let counts = purge_older(
            backends.store.as_ref(),
            backends.storage.as_ref(),
            &cutoffs,
            &|_| {},
        )
        .await?;
        println!(
            "purged before {cutoff}: {} executions, {} log lines, {} files",
            counts.executions, counts.logs, counts.files
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// The instant before which things go: `before`, or now minus `older_than`.
fn cutoff(
    older_than: Option<&str>,
    before: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<Timestamp> {
    match (older_than, before) {
        (_, Some(before)) => before
            .parse::<Timestamp>()
            .map_err(|error| anyhow::anyhow!("--before '{before}': {error}")),
        (Some(age), None) => {
            let span: jiff::Span = age
                .parse()
                .map_err(|error| anyhow::anyhow!("--older-than '{age}': {error}"))?;
            let seconds = span
                .total((Unit::Second, SpanRelativeTo::days_are_24_hours()))
                .map_err(|error| anyhow::anyhow!("--older-than '{age}': {error}"))?;
            let age = jiff::SignedDuration::try_from_secs_f64(seconds)
                .map_err(|error| anyhow::anyhow!("--older-than '{age}': {error}"))?;
            now.checked_sub(age)
                .map_err(|error| anyhow::anyhow!("--older-than: {error}"))
        }
        (None, None) => anyhow::bail!("say what goes: --older-than 30d or --before INSTANT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_an_age_or_an_instant() {
        let now: Timestamp = "2026-03-31T12:00:00Z".parse().expect("instant");
        let at = |older: Option<&str>, before: Option<&str>| {
            cutoff(older, before, now).map(|instant| instant.to_string())
        };
        assert_eq!(
            at(Some("30d"), None).ok().as_deref(),
            Some("2026-03-01T12:00:00Z")
        );
        assert_eq!(
            at(Some("P1DT2H"), None).ok().as_deref(),
            Some("2026-03-30T10:00:00Z")
        );
        assert_eq!(
            at(None, Some("2026-01-01T00:00:00Z")).ok().as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert!(at(Some("soon"), None).is_err());
        assert!(at(None, None).is_err());
    }
}
