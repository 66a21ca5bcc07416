//! The engine in one process on in-memory state (no persistence yet): latency of a 3-step flow
//! of Return tasks started one at a time, sustained throughput with many at once, and ForEach
//! over 100, 1,000 and 10,000 values (wall time, peak and current RSS). The baseline, measured in
//! the same run, is a 1-step flow.
//!
//! `cargo run -p peregrine-bench --release --bin engine [-- RUNS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_bench::{millis, quantile};
use peregrine_model::Validator;
use peregrine_node::runtime::LocalRuntime;
use serde_json::Map;

const ONE_STEP: &str = "id: one\nnamespace: bench\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ execution.id }}\"\n";

const THREE_STEPS: &str = "id: three\nnamespace: bench\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ execution.id }}\"\n  - id: b\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.a.value }}\"\n  - id: c\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ outputs.b.value }}\"\n";

/// ForEach sizes, each run once after the latency and throughput runs.
const LOOP_SIZES: [u32; 3] = [100, 1_000, 10_000];

/// A ForEach over `size` values, all at once, each running one Return task.
fn for_each(size: u32) -> String {
    format!(
        "id: loop{size}\nnamespace: bench\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: \"{{{{ range(1, {size}) }}}}\"\n    concurrencyLimit: 0\n    tasks:\n      - id: a\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{{{ taskrun.value }}}}\"\n"
    )
}

fn flow(registry: &peregrine_model::Registry, source: &str) -> peregrine_model::Flow {
    let report = Validator::new(registry).validate_one(source);
    report.flow.expect("the benchmark flows are valid")
}

async fn run_one(runtime: &LocalRuntime, flow_id: &str) -> Duration {
    let start = Instant::now();
    let id = runtime
        .execute("bench", flow_id, &Map::new())
        .expect("start");
    let execution = runtime
        .wait_for(&id, Duration::from_secs(60), |execution| {
            execution.state.is_terminated()
        })
        .await
        .expect("end");
    assert_eq!(format!("{:?}", execution.state.current), "Success");
    start.elapsed()
}

/// A memory figure of this process, in KiB (`VmRSS:`, `VmHWM:`).
fn status_kib(field: &str) -> u64 {
    peregrine_bench::status_kib("self", field)
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(500);
    let runtime_threads = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    runtime_threads.block_on(async {
        let registry = Arc::new(peregrine_node::catalogue());
        let runtime = LocalRuntime::start(registry.clone());
        for source in [ONE_STEP, THREE_STEPS] {
            runtime.load(flow(&registry, source)).expect("load");
        }
        for size in LOOP_SIZES {
            runtime.load(flow(&registry, &for_each(size))).expect("load");
        }
        let sample = |samples: &mut Vec<Duration>| samples.sort();
        // Latency, one at a time, interleaved so drift hits both alike.
        let (mut one, mut three) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            run_one(&runtime, "one").await;
            run_one(&runtime, "three").await;
        }
        for _ in 0..runs {
            one.push(run_one(&runtime, "one").await);
            three.push(run_one(&runtime, "three").await);
        }
        sample(&mut one);
        sample(&mut three);
        println!("engine (in process, in-memory state): {runs} executions of each flow");
        println!(
            "  1-step flow latency: median {:.3} ms, p95 {:.3} ms (baseline)",
            millis(quantile(&one, 0.5)),
            millis(quantile(&one, 0.95))
        );
        println!(
            "  3-step flow latency: median {:.3} ms, p95 {:.3} ms; per extra step {:.3} ms",
            millis(quantile(&three, 0.5)),
            millis(quantile(&three, 0.95)),
            (millis(quantile(&three, 0.5)) - millis(quantile(&one, 0.5))) / 2.0
        );
        // Throughput: many executions in flight.
        let total = runs * 4;
        let start = Instant::now();
        let ids: Vec<String> = (0..total).map(|_| runtime.execute("bench", "three", &Map::new()).expect("start")).collect();
        for id in &ids {
            runtime
                .wait_for(id, Duration::from_secs(120), |execution| execution.state.is_terminated())
                .await
                .expect("end");
        }
        let elapsed = start.elapsed();
        println!(
            "  throughput, {total} 3-step executions in flight: {:.0} executions/s ({:.0} task runs/s)",
            total as f64 / elapsed.as_secs_f64(),
            3.0 * total as f64 / elapsed.as_secs_f64()
        );
        for size in LOOP_SIZES {
            let before = status_kib("VmRSS:");
            let start = Instant::now();
            let id = runtime
                .execute("bench", &format!("loop{size}"), &Map::new())
                .expect("start");
            let execution = runtime
                .wait_for(&id, Duration::from_secs(600), |execution| {
                    execution.state.is_terminated()
                })
                .await
                .expect("end");
            println!(
                "  ForEach over {size} values: {:?} with {} task runs in {:.3} s; RSS {} MiB before, {} MiB after, peak {} MiB",
                execution.state.current,
                execution.task_run_list.len(),
                start.elapsed().as_secs_f64(),
                before / 1024,
                status_kib("VmRSS:") / 1024,
                status_kib("VmHWM:") / 1024
            );
        }
    });
}
