//! Memory of big executions: a ForEach over 10,000 values run again and again in one process
//! with every transition committed to SQLite and the runtime keeping ended executions as the
//! server does. Prints, per run, its wall time and the resident memory after it ended: memory
//! must level off, not grow with every run.
//!
//! `cargo run -p peregrine-bench --release --bin foreach [-- RUNS [VALUES [CONCURRENCY]]]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use peregrine_model::Validator;
use peregrine_node::runtime::{LocalRuntime, RuntimeOptions};
use serde_json::Map;

/// A memory figure of this process, in MiB (`VmRSS:`, `VmHWM:`).
fn status_mib(key: &str) -> u64 {
    peregrine_bench::status_kib("self", key) / 1024
}

fn flow(values: usize, concurrency: usize) -> String {
    format!(
        "id: loop\nnamespace: bench\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: \"{{{{ range(1, {values}) }}}}\"\n    concurrencyLimit: {concurrency}\n    tasks:\n      - id: a\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{{{ taskrun.value }}}}\"\n"
    )
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(8);
    let values: usize = args
        .next()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(0);
    let folder = std::env::temp_dir().join(format!("peregrine-foreach-{}", std::process::id()));
    let threads = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!(
        "foreach: a ForEach over {values} values (concurrencyLimit {concurrency}), {runs} runs one after another, SQLite, ended executions kept as the server keeps them"
    );
    println!("  RSS at start: {} MiB", status_mib("VmRSS:"));
    threads.block_on(async {
        let store = peregrine_store_sqlite::SqliteStore::open(
            folder.join("peregrine.db"),
            peregrine_store_sqlite::Durability::Process,
        )
        .expect("database");
        let registry = Arc::new(peregrine_node::catalogue());
        let options = RuntimeOptions {
            store: Arc::new(store),
            keep_finished: peregrine_node::backends::KEEP_FINISHED,
            ..RuntimeOptions::from_env()
        };
        let runtime = LocalRuntime::start_with(registry.clone(), options);
        let flow = Validator::new(&registry)
            .validate_one(&flow(values, concurrency))
            .flow
            .expect("valid");
        runtime.load(flow).expect("load");
        for run in 1..=runs {
            let start = Instant::now();
            let id = runtime
                .execute("bench", "loop", &Map::new())
                .expect("start");
            let execution = runtime
                .wait_for(&id, Duration::from_secs(600), |execution| {
                    execution.state.is_terminated()
                })
                .await
                .expect("end");
            assert_eq!(format!("{:?}", execution.state.current), "Success");
            drop(execution);
            println!(
                "  run {run}: {:.2} s, {} task runs; RSS after it {} MiB (peak so far {} MiB)",
                start.elapsed().as_secs_f64(),
                values,
                status_mib("VmRSS:"),
                status_mib("VmHWM:")
            );
        }
    });
    let _ = std::fs::remove_dir_all(&folder);
}
