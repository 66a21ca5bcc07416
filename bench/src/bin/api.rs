//! Through the REST API of a real `peregrine server local` process (on SQLite in a temporary
//! folder, every transition committed): latency from the start
//! request to the terminal state of a 3-step flow of Return tasks (`POST ...?wait=true`), one at
//! a time. The baseline, measured in the same run against the same server, is `GET /health`.
//!
//! `cargo build --release -p peregrine-cli && cargo run -p peregrine-bench --release --bin api [-- RUNS]`

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use peregrine_bench::{millis, quantile};

const FLOW: &str = "id: three\nnamespace: bench\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ execution.id }}\"\n  - id: b\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.a.value }}\"\n  - id: c\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.b.value }}\"\n";

fn request(agent: &ureq::Agent, method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let builder = ureq::http::Request::builder().method(method).uri(url);
    let response = match body {
        Some(yaml) => agent.run(
            builder
                .header("Content-Type", "application/x-yaml")
                .body(yaml.to_string())
                .expect("a request"),
        ),
        None => agent.run(builder.body(()).expect("a request")),
    }
    .expect("an answer");
    let status = response.status().as_u16();
    (
        status,
        response.into_body().read_to_string().unwrap_or_default(),
    )
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(300);
    let binary =
        std::env::var("PEREGRINE_BIN").unwrap_or_else(|_| "target/release/peregrine".to_string());
    let port = 18_000 + (std::process::id() % 2000) as u16;
    let data = std::env::temp_dir().join(format!("peregrine-api-bench-{}", std::process::id()));
    let started = Instant::now();
    let mut server = Command::new(&binary)
        .args(["server", "local", "--port", &port.to_string(), "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server (build it with cargo build --release -p peregrine-cli)");
    let stdout = server.stdout.take().expect("stdout");
    let mut ready_line = String::new();
    BufReader::new(stdout)
        .read_line(&mut ready_line)
        .expect("ready line");
    let ready = started.elapsed();
    let base = format!("http://127.0.0.1:{port}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let (status, body) = request(&agent, "POST", &format!("{base}/api/v1/flows"), Some(FLOW));
    assert_eq!(status, 200, "{body}");
    let execute = format!("{base}/api/v1/executions/bench/three?wait=true");
    let health = format!("{base}/health");
    let (mut flows, mut healths) = (Vec::new(), Vec::new());
    for round in 0..(runs + 30) {
        let start = Instant::now();
        let (status, body) = request(&agent, "POST", &execute, None);
        let flow_time = start.elapsed();
        assert!(
            status == 200 && body.contains("\"SUCCESS\""),
            "{status} {body}"
        );
        let start = Instant::now();
        request(&agent, "GET", &health, None);
        let health_time = start.elapsed();
        if round >= 30 {
            flows.push(flow_time);
            healths.push(health_time);
        }
    }
    flows.sort();
    healths.sort();
    let rss = peregrine_bench::status_kib(&server.id().to_string(), "VmRSS:");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
    println!(
        "api: {runs} executions of a 3-step Return flow through POST /api/v1/executions?wait=true"
    );
    println!(
        "  server ready {:.1} ms after exec; RSS after the run {} MiB",
        ready.as_secs_f64() * 1000.0,
        rss / 1024
    );
    println!(
        "  start to terminal state: median {:.3} ms, p95 {:.3} ms",
        millis(quantile(&flows, 0.5)),
        millis(quantile(&flows, 0.95))
    );
    println!(
        "  baseline GET /health:    median {:.3} ms, p95 {:.3} ms",
        millis(quantile(&healths, 0.5)),
        millis(quantile(&healths, 0.95))
    );
}
