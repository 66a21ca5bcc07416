//! The engine in one process with every transition committed to a database (SQLite, PostgreSQL
//! or MySQL/MariaDB), against the same engine on in-memory state in the same run: latency of a
//! 3-step flow of Return tasks started one at a time, sustained throughput with many executions
//! at once, and a ForEach over 10,000 values.
//!
//! `cargo run -p peregrine-bench --release --bin durable [-- RUNS [BURST]] [--backends LIST]`
//!
//! LIST is a comma-separated choice of `memory`, `sqlite`, `postgres` and `mysql` (default
//! `memory,sqlite`). Each backend is measured in a process of its own (this binary again, with
//! `--one BACKEND`), one after another, so its memory figures are its own and not what the
//! previous backend left behind. PostgreSQL and MySQL get a fresh database from
//! `scripts/services/postgres` and `scripts/services/mariadb` (a private server on 127.0.0.1,
//! started when needed), dropped at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_bench::timed_store::{CommitTotals, TimedStore};
use peregrine_bench::{millis, quantile};
use peregrine_model::Validator;
use peregrine_node::backends::Backends;
use peregrine_node::config::{RepositoryType, ServerConfig, StorageType};
use peregrine_node::runtime::{LocalRuntime, RuntimeOptions};
use peregrine_ports::store::ExecutionBackend;
use serde_json::Map;

const THREE_STEPS: &str = "id: three\nnamespace: bench\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ execution.id }}\"\n  - id: b\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.a.value }}\"\n  - id: c\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.b.value }}\"\n";

const FOR_EACH: &str = "id: loop\nnamespace: bench\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: \"{{ range(1, 10000) }}\"\n    concurrencyLimit: 0\n    tasks:\n      - id: a\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{ taskrun.value }}\"\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Memory,
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "memory" => Some(Self::Memory),
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::Mysql),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Memory => "memory (baseline)",
            Self::Sqlite => "sqlite (every transition committed)",
            Self::Postgres => "postgres (every transition committed)",
            Self::Mysql => "mysql/mariadb (every transition committed)",
        }
    }

    /// The script of scripts/services that serves this backend's databases.
    fn service(self) -> Option<&'static str> {
        match self {
            Self::Postgres => Some("postgres"),
            Self::Mysql => Some("mariadb"),
            Self::Memory | Self::Sqlite => None,
        }
    }
}

struct Figures {
    median: Duration,
    p95: Duration,
    per_second: f64,
    for_each: Duration,
    rss_before: u64,
    rss_after: u64,
    /// The commits of the executions one at a time, of the burst, of the ForEach.
    commits: [CommitTotals; 3],
}

impl Figures {
    /// One line a parent process reads back.
    fn to_line(&self) -> String {
        let mut line = format!(
            "figures {} {} {} {} {} {}",
            self.median.as_nanos(),
            self.p95.as_nanos(),
            self.per_second,
            self.for_each.as_nanos(),
            self.rss_before,
            self.rss_after
        );
        for totals in &self.commits {
            line.push_str(&format!(
                " {} {} {}",
                totals.commits,
                totals.transitions,
                totals.time.as_nanos()
            ));
        }
        line
    }

    fn from_line(line: &str) -> Option<Self> {
        let mut fields = line.strip_prefix("figures ")?.split_whitespace();
        let nanos = |fields: &mut std::str::SplitWhitespace<'_>| {
            Some(Duration::from_nanos(fields.next()?.parse().ok()?))
        };
        let median = nanos(&mut fields)?;
        let p95 = nanos(&mut fields)?;
        let per_second = fields.next()?.parse().ok()?;
        let for_each = nanos(&mut fields)?;
        let rss_before = fields.next()?.parse().ok()?;
        let rss_after = fields.next()?.parse().ok()?;
        let mut commits = [CommitTotals::default(); 3];
        for totals in &mut commits {
            totals.commits = fields.next()?.parse().ok()?;
            totals.transitions = fields.next()?.parse().ok()?;
            totals.time = nanos(&mut fields)?;
        }
        Some(Self {
            median,
            p95,
            per_second,
            for_each,
            rss_before,
            rss_after,
            commits,
        })
    }
}

fn rss_mib() -> u64 {
    peregrine_bench::status_kib("self", "VmRSS:") / 1024
}

async fn wait_end(runtime: &LocalRuntime, id: &str) {
    let execution = runtime
        .wait_for(id, Duration::from_secs(300), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("end");
    assert_eq!(format!("{:?}", execution.state.current), "Success");
}

async fn measure(store: Arc<dyn ExecutionBackend>, runs: usize, burst: usize) -> Figures {
    let store = Arc::new(TimedStore::new(store));
    let registry = Arc::new(peregrine_node::catalogue());
    let options = RuntimeOptions {
        store: store.clone(),
        keep_finished: 1_000,
        ..RuntimeOptions::from_env()
    };
    let runtime = LocalRuntime::start_with(registry.clone(), options);
    for source in [THREE_STEPS, FOR_EACH] {
        let flow = Validator::new(&registry)
            .validate_one(source)
            .flow
            .expect("valid");
        runtime.load(flow).expect("load");
    }
    let mut latencies = Vec::with_capacity(runs);
    let mut measured_from = store.totals();
    for round in 0..(runs + 20) {
        let start = Instant::now();
        let id = runtime
            .execute("bench", "three", &Map::new())
            .expect("start");
        wait_end(&runtime, &id).await;
        if round >= 20 {
            latencies.push(start.elapsed());
        } else {
            measured_from = store.totals();
        }
    }
    latencies.sort();
    let one_at_a_time = store.totals();
    let start = Instant::now();
    let ids: Vec<String> = (0..burst)
        .map(|_| {
            runtime
                .execute("bench", "three", &Map::new())
                .expect("start")
        })
        .collect();
    for id in &ids {
        wait_end(&runtime, id).await;
    }
    let per_second = burst as f64 / start.elapsed().as_secs_f64();
    let after_burst = store.totals();
    let rss_before = rss_mib();
    let start = Instant::now();
    let id = runtime
        .execute("bench", "loop", &Map::new())
        .expect("start");
    wait_end(&runtime, &id).await;
    let for_each = start.elapsed();
    let rss_after = rss_mib();
    let commits = [
        one_at_a_time.since(measured_from),
        after_burst.since(one_at_a_time),
        store.totals().since(after_burst),
    ];
    Figures {
        commits,
        for_each,
        rss_before,
        rss_after,
        median: quantile(&latencies, 0.5),
        p95: quantile(&latencies, 0.95),
        per_second,
    }
}

/// A fresh database on a server of scripts/services, dropped with this value.
struct Database {
    service: &'static str,
    prefix: String,
    url: String,
}

impl Database {
    fn script(service: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scripts/services/{service}"))
    }

    fn create(service: &'static str) -> Self {
        // The process id and a trailing `_` make the prefix this run's alone.
        let prefix = format!("bench_durable_{}_", std::process::id());
        let output = Command::new(Self::script(service))
            .args(["database", &format!("{prefix}db")])
            .stderr(Stdio::inherit())
            .output()
            .expect("run the services script");
        assert!(
            output.status.success(),
            "scripts/services/{service} database: {}",
            output.status
        );
        let url = String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .expect("a database url")
            .trim()
            .to_string();
        Self {
            service,
            prefix,
            url,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let dropped = Command::new(Self::script(self.service))
            .args(["drop", &self.prefix])
            .stdout(Stdio::null())
            .status();
        if !dropped.is_ok_and(|status| status.success()) {
            eprintln!(
                "could not drop the {} database {}",
                self.service, self.prefix
            );
        }
    }
}

async fn open(
    backend: Backend,
    database: Option<&Database>,
    folder: &Path,
) -> Arc<dyn ExecutionBackend> {
    let mut config = ServerConfig::default();
    config.kestra.storage.kind = StorageType::Memory;
    match backend {
        Backend::Memory => return Arc::new(peregrine_ports::memory::MemoryExecutions::new()),
        Backend::Sqlite => {
            let store = peregrine_store_sqlite::SqliteStore::open(
                folder.join("peregrine.db"),
                peregrine_store_sqlite::Durability::Process,
            )
            .expect("database");
            return Arc::new(store);
        }
        Backend::Postgres => {
            config.kestra.repository.kind = RepositoryType::Postgres;
            config.datasources.postgres.url = database.expect("a database").url.clone();
        }
        Backend::Mysql => {
            config.kestra.repository.kind = RepositoryType::Mysql;
            config.datasources.mysql.url = database.expect("a database").url.clone();
        }
    }
    // As a server opens them: the pool sized by `datasources.*.maximum-pool-size` (16).
    Backends::open(&config).await.expect("database").store
}

/// Measures one backend in this process and prints its figures on one line.
fn measure_one(backend: Backend, runs: usize, burst: usize) {
    let folder = std::env::temp_dir().join(format!("peregrine-bench-{}", std::process::id()));
    // Declared before the runtime, so dropped after it: its connections are closed by then.
    let database = backend.service().map(Database::create);
    let threads = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let figures = threads.block_on(async {
        let store = open(backend, database.as_ref(), &folder).await;
        measure(store, runs, burst).await
    });
    drop(threads);
    drop(database);
    let _ = std::fs::remove_dir_all(&folder);
    println!("{}", figures.to_line());
}

/// Runs this binary again for one backend; `None` when it failed (its errors are on stderr).
fn measure_apart(backend: Backend, runs: usize, burst: usize) -> Option<Figures> {
    let output = Command::new(std::env::current_exe().expect("this binary"))
        .args([
            runs.to_string(),
            burst.to_string(),
            "--one".into(),
            backend.name().into(),
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run this binary");
    if !output.status.success() {
        eprintln!(
            "{}: the measurement failed ({})",
            backend.name(),
            output.status
        );
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(Figures::from_line)
}

/// How many commits a phase made, what they carried and the time spent in them.
fn describe_commits(phase: &str, totals: CommitTotals) -> String {
    let commits = totals.commits.max(1) as f64;
    format!(
        "{phase} {} ({:.1} transitions, {:.3} ms each, {:.2} s in all)",
        totals.commits,
        totals.transitions as f64 / commits,
        totals.time.as_secs_f64() * 1000.0 / commits,
        totals.time.as_secs_f64()
    )
}

struct Args {
    runs: usize,
    burst: usize,
    backends: Vec<Backend>,
    one: Option<Backend>,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "durable: {problem}\nusage: durable [RUNS [BURST]] [--backends memory,sqlite,postgres,mysql]"
    );
    std::process::exit(2)
}

fn parse_backends(list: &str) -> Vec<Backend> {
    list.split(',')
        .filter(|name| !name.trim().is_empty())
        .map(|name| {
            Backend::parse(name).unwrap_or_else(|| usage(&format!("unknown backend '{name}'")))
        })
        .collect()
}

fn parse_args() -> Args {
    let mut positional = Vec::new();
    let mut backends = None;
    let mut one = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if let Some(list) = arg.strip_prefix("--backends=") {
            backends = Some(parse_backends(list));
        } else if arg == "--backends" {
            let list = args
                .next()
                .unwrap_or_else(|| usage("--backends needs a list"));
            backends = Some(parse_backends(&list));
        } else if arg == "--one" {
            let name = args
                .next()
                .unwrap_or_else(|| usage("--one needs a backend"));
            one = Some(Backend::parse(&name).unwrap_or_else(|| usage("unknown backend")));
        } else if arg.starts_with("--") {
            usage(&format!("unknown option {arg}"));
        } else {
            positional.push(arg);
        }
    }
    let number = |index: usize, default: usize| match positional.get(index) {
        None => default,
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| usage(&format!("'{text}' is not a number"))),
    };
    let mut backends = backends.unwrap_or_else(|| vec![Backend::Memory, Backend::Sqlite]);
    if std::env::var_os("DURABLE_ONLY").is_some() {
        backends.retain(|backend| *backend != Backend::Memory);
    }
    Args {
        runs: number(0, 300),
        burst: number(1, 10_000),
        backends,
        one,
    }
}

fn main() {
    let args = parse_args();
    if let Some(backend) = args.one {
        measure_one(backend, args.runs, args.burst);
        return;
    }
    let measured: Vec<(Backend, Figures)> = args
        .backends
        .iter()
        .filter_map(|backend| Some((*backend, measure_apart(*backend, args.runs, args.burst)?)))
        .collect();
    println!(
        "durable: a 3-step Return flow in one process, {} one at a time, then {} at once; each backend in a process of its own",
        args.runs, args.burst
    );
    for (backend, figures) in &measured {
        println!(
            "  {}: median {:.3} ms, p95 {:.3} ms; {:.0} executions/s; ForEach over 10,000 values {:.2} s (RSS {} -> {} MiB)",
            backend.label(),
            millis(figures.median),
            millis(figures.p95),
            figures.per_second,
            figures.for_each.as_secs_f64(),
            figures.rss_before,
            figures.rss_after
        );
        let phases = ["one at a time", "at once", "ForEach"];
        let described: Vec<String> = phases
            .iter()
            .zip(&figures.commits)
            .map(|(phase, totals)| describe_commits(phase, *totals))
            .collect();
        println!("      commits: {}", described.join("; "));
    }
    let memory = measured
        .iter()
        .find(|(backend, _)| *backend == Backend::Memory);
    if let Some((_, memory)) = memory {
        for (backend, figures) in &measured {
            if *backend == Backend::Memory {
                continue;
            }
            println!(
                "  ratio {}/memory: median {:.2}, p95 {:.2}, throughput {:.2}, ForEach {:.2}",
                backend.name(),
                figures.median.as_secs_f64() / memory.median.as_secs_f64(),
                figures.p95.as_secs_f64() / memory.p95.as_secs_f64(),
                figures.per_second / memory.per_second,
                figures.for_each.as_secs_f64() / memory.for_each.as_secs_f64()
            );
        }
    }
    if measured.len() < args.backends.len() {
        std::process::exit(1);
    }
}
