//! The engine in one process with every transition committed to SQLite, against the same
//! engine on in-memory state in the same run: latency of a 3-step flow of Return tasks started
//! one at a time, sustained throughput with many executions at once, and a ForEach over 10,000
//! values.
//!
//! `cargo run -p peregrine-bench --release --bin durable [-- RUNS [BURST]]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_bench::{millis, quantile};
use peregrine_model::Validator;
use peregrine_node::runtime::{LocalRuntime, RuntimeOptions};
use peregrine_ports::store::ExecutionBackend;
use serde_json::Map;

const THREE_STEPS: &str = "id: three\nnamespace: bench\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ execution.id }}\"\n  - id: b\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.a.value }}\"\n  - id: c\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.b.value }}\"\n";

const FOR_EACH: &str = "id: loop\nnamespace: bench\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: \"{{ range(1, 10000) }}\"\n    concurrencyLimit: 0\n    tasks:\n      - id: a\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{ taskrun.value }}\"\n";

struct Figures {
    median: Duration,
    p95: Duration,
    per_second: f64,
    burst: usize,
    for_each: Duration,
    rss_before: u64,
    rss_after: u64,
}

fn rss_mib() -> u64 {
    peregrine_bench::status_kib("self", "VmRSS:") / 1024
}

async fn wait_end(runtime: &LocalRuntime, id: &str) {
    let execution = runtime
        .wait_for(id, Duration::from_secs(120), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("end");
    assert_eq!(format!("{:?}", execution.state.current), "Success");
}

async fn measure(store: Arc<dyn ExecutionBackend>, runs: usize, burst: usize) -> Figures {
    let registry = Arc::new(peregrine_node::catalogue());
    let options = RuntimeOptions {
        store,
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
    for round in 0..(runs + 20) {
        let start = Instant::now();
        let id = runtime
            .execute("bench", "three", &Map::new())
            .expect("start");
        wait_end(&runtime, &id).await;
        if round >= 20 {
            latencies.push(start.elapsed());
        }
    }
    latencies.sort();
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
    let rss_before = rss_mib();
    let start = Instant::now();
    let id = runtime
        .execute("bench", "loop", &Map::new())
        .expect("start");
    wait_end(&runtime, &id).await;
    let for_each = start.elapsed();
    let rss_after = rss_mib();
    Figures {
        for_each,
        rss_before,
        rss_after,
        median: quantile(&latencies, 0.5),
        p95: quantile(&latencies, 0.95),
        per_second,
        burst,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(300);
    let burst: usize = args
        .next()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(10_000);
    let folder = std::env::temp_dir().join(format!("peregrine-bench-{}", std::process::id()));
    let threads = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    // SQLite first, so its memory figures are not those the in-memory store leaves behind.
    let (memory, sqlite) = threads.block_on(async {
        let store = peregrine_store_sqlite::SqliteStore::open(
            folder.join("peregrine.db"),
            peregrine_store_sqlite::Durability::Process,
        )
        .expect("database");
        let sqlite = measure(Arc::new(store), runs, burst).await;
        if std::env::var_os("DURABLE_ONLY").is_some() {
            return (None, sqlite);
        }
        let memory = measure(
            Arc::new(peregrine_ports::memory::MemoryExecutions::new()),
            runs,
            burst,
        )
        .await;
        (Some(memory), sqlite)
    });
    let _ = std::fs::remove_dir_all(&folder);
    println!(
        "durable: a 3-step Return flow in one process, {runs} one at a time, then {} at once",
        sqlite.burst
    );
    let mut rows = vec![("sqlite (every transition committed)", &sqlite)];
    if let Some(memory) = &memory {
        rows.push(("memory (baseline)", memory));
    }
    for (name, figures) in rows {
        println!(
            "  {name}: median {:.3} ms, p95 {:.3} ms; {:.0} executions/s; ForEach over 10,000 values {:.2} s (RSS {} -> {} MiB)",
            millis(figures.median),
            millis(figures.p95),
            figures.per_second,
            figures.for_each.as_secs_f64(),
            figures.rss_before,
            figures.rss_after
        );
    }
    if let Some(memory) = &memory {
        println!(
            "  ratio sqlite/memory: median {:.2}, throughput {:.2}",
            sqlite.median.as_secs_f64() / memory.median.as_secs_f64(),
            sqlite.per_second / memory.per_second
        );
    }
}
