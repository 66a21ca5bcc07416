//! Kestra's benchmark 1 with roles in separate processes: a 2-task flow (OutputValues, then Log)
//! started through its Webhook trigger at constant rates, on PostgreSQL and on MySQL. One
//! `peregrine server executor`, one `peregrine server webserver` and `--workers` `peregrine
//! server worker` processes share a fresh database and storage folder (with `--webserver
//! with-executor`, one `server standalone --worker-thread 0` is the executor and the API).
//!
//! For each rate, requests are sent open-loop (on schedule, whatever the answers) for
//! `--seconds`; latency is from the moment a request was due to the end of its execution as the
//! executor recorded it (same machine, same clock), so a request waiting for one of the
//! benchmark's sender threads counts that wait too. A rate is held when every request was
//! answered and the mean latency stays under one second.
//!
//! `cargo build --release -p peregrine-cli && cargo run -p peregrine-bench --release --bin webhook
//! [-- --backends postgres,mysql --workers 2 --rates 100,250,500,750,1000 --seconds 10
//! --webserver apart --executors 1]`; with `--executors 2` or more, they share the load
//! (`kestra.executor.share-load`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FLOW: &str = "id: benchmark01
namespace: company.team
tasks:
  - id: output
    type: io.kestra.plugin.core.output.OutputValues
    values:
      some: value
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: '{{ outputs.output.values.some }}'
triggers:
  - id: webhook
    type: io.kestra.plugin.core.trigger.Webhook
    key: benchmark
";

/// Threads sending requests: enough to keep a schedule of 1,000 requests per second while each
/// takes a few milliseconds.
const SENDERS: usize = 48;

struct Options {
    backends: Vec<String>,
    workers: usize,
    rates: Vec<u32>,
    seconds: u64,
    /// The API in a process of its own (`apart`) or in the executor's.
    webserver_apart: bool,
    /// `server executor` processes (with the API apart); more than one share the load.
    executors: usize,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        backends: vec!["postgres".into(), "mysql".into()],
        workers: 2,
        rates: vec![100, 250, 500, 750, 1000],
        seconds: 10,
        webserver_apart: true,
        executors: 1,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--backends" => options.backends = value.split(',').map(str::to_string).collect(),
            "--workers" => options.workers = value.parse().unwrap_or(2),
            "--executors" => options.executors = value.parse().unwrap_or(1).max(1),
            "--rates" => {
                options.rates = value
                    .split(',')
                    .filter_map(|rate| rate.parse().ok())
                    .collect();
            }
            "--seconds" => options.seconds = value.parse().unwrap_or(10),
            "--webserver" => match value {
                "apart" => options.webserver_apart = true,
                "with-executor" => options.webserver_apart = false,
                other => {
                    return Err(format!(
                        "--webserver is apart or with-executor, not {other}"
                    ));
                }
            },
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(unknown) = options
        .backends
        .iter()
        .find(|backend| database_of(backend).is_none())
    {
        return Err(format!("unknown backend {unknown} (postgres, mysql)"));
    }
    Ok(options)
}

/// The service script, repository type and URL variable of a backend.
fn database_of(backend: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match backend {
        "postgres" => Some(("postgres", "postgres", "DATASOURCES_POSTGRES_URL")),
        "mysql" => Some(("mariadb", "mysql", "DATASOURCES_MYSQL_URL")),
        _ => None,
    }
}

/// A process of the deployment, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(binary: &str, args: &[&str], variables: &[(String, String)]) -> Process {
    let mut child = Command::new(binary)
        .args(args)
        .envs(variables.iter().map(|(key, value)| (key, value)))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start peregrine (build it with cargo build --release -p peregrine-cli)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a ready line");
    assert!(line.contains("ready"), "{line}");
    Process(child)
}

fn service(script: &str, args: &[&str]) -> String {
    let output = Command::new(format!("scripts/services/{script}"))
        .args(args)
        .output()
        .expect("run the service script (from the repository's root)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_connections_per_host(SENDERS * 2)
        .build()
        .new_agent()
}

/// What one rate gave.
struct Outcome {
    rate: u32,
    sent: usize,
    answered: usize,
    send_seconds: f64,
    latencies: Vec<f64>,
}

/// Sends `rate` webhook requests per second for `seconds`; returns each answered request's send
/// instant and execution id.
fn load(url: &str, rate: u32, seconds: u64) -> (usize, f64, Vec<(jiff::Timestamp, String)>) {
    let total = usize::try_from(u64::from(rate) * seconds).unwrap_or(usize::MAX);
    // Each request carries the instant it was due: a request waiting for a free sender counts
    // that wait in its latency (open-loop measurement).
    let (jobs, queue) = mpsc::channel::<jiff::Timestamp>();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    let (answers, answered) = mpsc::channel();
    let mut threads = Vec::new();
    for _ in 0..SENDERS {
        let (queue, answers, url) = (queue.clone(), answers.clone(), url.to_string());
        threads.push(std::thread::spawn(move || {
            let agent = agent();
            loop {
                let next = queue.lock().ok().and_then(|queue| queue.recv().ok());
                let Some(sent) = next else {
                    return;
                };
                let Ok(response) = agent.post(&url).send("{}") else {
                    continue;
                };
                if response.status().as_u16() != 200 {
                    continue;
                }
                let body = response.into_body().read_to_string().unwrap_or_default();
                let id = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|execution| execution["id"].as_str().map(str::to_string));
                if let Some(id) = id {
                    let _ = answers.send((sent, id));
                }
            }
        }));
    }
    drop(answers);
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    for index in 0..total {
        let due = started + interval * u32::try_from(index).unwrap_or(u32::MAX);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if jobs.send(jiff::Timestamp::now()).is_err() {
            break;
        }
    }
    let send_seconds = started.elapsed().as_secs_f64();
    drop(jobs);
    for thread in threads {
        let _ = thread.join();
    }
    (total, send_seconds, answered.into_iter().collect())
}

/// Reads each execution until it has ended; returns the latencies in milliseconds.
fn latencies(base: &str, answered: &[(jiff::Timestamp, String)]) -> Vec<f64> {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut latencies = Vec::with_capacity(answered.len());
    for (sent, id) in answered {
        loop {
            let url = format!("{base}/api/v1/executions/{id}");
            let execution: serde_json::Value = agent
                .get(&url)
                .call()
                .ok()
                .and_then(|response| response.into_body().read_to_string().ok())
                .and_then(|body| serde_json::from_str(&body).ok())
                .unwrap_or_default();
            let end = execution["state"]["endDate"]
                .as_str()
                .and_then(|end| end.parse::<jiff::Timestamp>().ok());
            if let Some(end) = end {
                let latency = end.duration_since(*sent).as_secs_f64() * 1000.0;
                latencies.push(latency);
                break;
            }
            assert!(Instant::now() < deadline, "execution {id} did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn run_backend(binary: &str, backend: &str, options: &Options) -> Vec<Outcome> {
    let Some((script, kind, url_key)) = database_of(backend) else {
        return Vec::new();
    };
    let name = format!("webhook_bench_{}", std::process::id());
    let url = service(script, &["database", &name]);
    let storage = std::env::temp_dir().join(format!("peregrine-webhook-bench-{name}"));
    let mut variables = vec![
        ("KESTRA_REPOSITORY_TYPE".to_string(), kind.to_string()),
        ("KESTRA_QUEUE_TYPE".to_string(), kind.to_string()),
        (url_key.to_string(), url),
        (
            "KESTRA_STORAGE_LOCAL_BASE_PATH".to_string(),
            storage.to_string_lossy().into_owned(),
        ),
        (
            "DATASOURCES_POSTGRES_MAXIMUM_POOL_SIZE".to_string(),
            "16".to_string(),
        ),
        (
            "DATASOURCES_MYSQL_MAXIMUM_POOL_SIZE".to_string(),
            "16".to_string(),
        ),
    ];
    let port = 19_000 + (std::process::id() % 1000) as u16;
    let port_text = port.to_string();
    let mut servers = Vec::new();
    if options.executors > 1 {
        variables.push(("KESTRA_EXECUTOR_SHARE_LOAD".to_string(), "true".to_string()));
    }
    if options.webserver_apart {
        for _ in 0..options.executors {
            servers.push(spawn(binary, &["server", "executor"], &variables));
        }
        // The partitions split between them within a few heartbeats.
        if options.executors > 1 {
            std::thread::sleep(Duration::from_secs(3));
        }
        let webserver = ["server", "webserver", "--port", &port_text];
        servers.push(spawn(binary, &webserver, &variables));
    } else {
        let standalone = [
            "server",
            "standalone",
            "--worker-thread",
            "0",
            "--port",
            &port_text,
        ];
        servers.push(spawn(binary, &standalone, &variables));
    }
    let workers: Vec<Process> = (0..options.workers)
        .map(|_| spawn(binary, &["server", "worker"], &variables))
        .collect();
    let base = format!("http://127.0.0.1:{port}");
    let response = agent()
        .post(format!("{base}/api/v1/flows"))
        .header("Content-Type", "application/x-yaml")
        .send(FLOW)
        .expect("the flow is saved");
    assert_eq!(response.status().as_u16(), 200);
    let hook = format!("{base}/api/v1/executions/webhook/company.team/benchmark01/benchmark");
    // Warm-up: connections, caches.
    let (_, _, warm) = load(&hook, 50, 2);
    latencies(&base, &warm);
    let mut outcomes = Vec::new();
    for &rate in &options.rates {
        let (sent, send_seconds, answered) = load(&hook, rate, options.seconds);
        let latencies = latencies(&base, &answered);
        let outcome = Outcome {
            rate,
            sent,
            answered: answered.len(),
            send_seconds,
            latencies,
        };
        print_outcome(backend, &outcome);
        let mean = mean(&outcome.latencies);
        outcomes.push(outcome);
        if mean > 1000.0 {
            break;
        }
        // Let the queue drain and the database settle between rates.
        std::thread::sleep(Duration::from_secs(2));
    }
    drop(workers);
    drop(servers);
    let _ = std::fs::remove_dir_all(&storage);
    service(script, &["drop", &name]);
    outcomes
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::INFINITY;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn print_outcome(backend: &str, outcome: &Outcome) {
    let held = outcome.answered == outcome.sent && mean(&outcome.latencies) < 1000.0;
    println!(
        "{backend:<8} rate {:>5}/s ({:>6}/min): sent {} in {:.1} s ({:.0}/s), answered {}, latency mean {:.0} ms, p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms{}",
        outcome.rate,
        outcome.rate * 60,
        outcome.sent,
        outcome.send_seconds,
        outcome.sent as f64 / outcome.send_seconds,
        outcome.answered,
        mean(&outcome.latencies),
        quantile(&outcome.latencies, 0.5),
        quantile(&outcome.latencies, 0.95),
        quantile(&outcome.latencies, 1.0),
        if held { "" } else { "  (not held)" }
    );
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    let binary =
        std::env::var("PEREGRINE_BIN").unwrap_or_else(|_| "target/release/peregrine".to_string());
    let api = if options.webserver_apart {
        "1 webserver"
    } else {
        "the API in the executor's process"
    };
    println!(
        "Kestra benchmark 1 (OutputValues then Log, started by webhook), {} executor(s) + {api} + {} workers, {} s per rate",
        options.executors, options.workers, options.seconds
    );
    for backend in &options.backends {
        let outcomes = run_backend(&binary, backend, &options);
        let best = outcomes
            .iter()
            .filter(|outcome| outcome.answered == outcome.sent && mean(&outcome.latencies) < 1000.0)
            .map(|outcome| outcome.rate)
            .max()
            .unwrap_or(0);
        println!(
            "{backend}: highest rate held with mean latency under 1 s: {best}/s ({}/min)",
            best * 60
        );
    }
}
