//! Validates a generated 5,000-task flow and reports the median and p95 time, against a baseline
//! measured in the same run: reading the same YAML into a tree without validating it.
//!
//! `cargo run -p peregrine-bench --release --bin validate-large [-- TASKS RUNS]`

use peregrine_bench::{millis, quantile, sample};
use peregrine_model::Validator;

/// A flow of `tasks` tasks: groups of Sequential, Parallel and ForEach holding Log and Return
/// tasks with expressions, retries and timeouts, like a large real flow.
fn generate(tasks: usize) -> String {
    let mut yaml = String::from(
        "id: large\nnamespace: bench.validation\ninputs:\n  - id: who\n    type: STRING\n    defaults: world\ntasks:\n",
    );
    let mut written = 0;
    let mut group = 0;
    while written < tasks {
        let kind = ["Sequential", "Parallel", "ForEach"][group % 3];
        yaml.push_str(&format!(
            "  - id: group_{group}\n    type: io.kestra.plugin.core.flow.{kind}\n"
        ));
        if kind == "ForEach" {
            yaml.push_str("    values: [\"a\", \"b\", \"c\"]\n    concurrencyLimit: 2\n");
        }
        yaml.push_str("    tasks:\n");
        written += 1;
        for child in 0..9 {
            if written >= tasks {
                break;
            }
            let id = format!("task_{group}_{child}");
            if child % 2 == 0 {
                yaml.push_str(&format!(
                    "      - id: {id}\n        type: io.kestra.plugin.core.log.Log\n        message: \"Hello {{{{ inputs.who }}}} from {{{{ task.id }}}}\"\n        timeout: PT1M\n"
                ));
            } else {
                yaml.push_str(&format!(
                    "      - id: {id}\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{{{ outputs.task_{group}_0 ?? 'none' }}}}\"\n        retry:\n          type: constant\n          interval: PT1S\n          maxAttempt: 3\n"
                ));
            }
            written += 1;
        }
        group += 1;
    }
    yaml
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args
        .next()
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(5_000);
    let runs: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(30);
    let source = generate(tasks);
    let registry = peregrine_node::catalogue();
    let syntax = peregrine_node::PebbleSyntax;
    let validator = Validator::new(&registry).with_expressions(&syntax);

    let report = validator.validate_one(&source);
    if !report.is_valid() {
        for diagnostic in report.diagnostics.iter().take(10) {
            eprintln!("{diagnostic}");
        }
        std::process::exit(1);
    }
    let flow = report.flow.as_ref().map_or(0, |flow| flow.tasks.len());

    let validate = sample(3, runs, || {
        let report = validator.validate_one(&source);
        assert!(report.is_valid());
    });
    let parse = sample(3, runs, || {
        let documents = peregrine_model::yaml::load_documents(&source);
        assert!(documents.is_ok());
    });
    let (validate_median, parse_median) = (quantile(&validate, 0.5), quantile(&parse, 0.5));
    let ratio = validate_median.as_secs_f64() / parse_median.as_secs_f64().max(1e-9);
    println!(
        "validate-large: {tasks} tasks ({flow} top-level groups, {} bytes of YAML), {runs} runs",
        source.len()
    );
    println!(
        "  validate (parse + schema + rules + expressions + typed model): median {:.3} ms, p95 {:.3} ms",
        millis(validate_median),
        millis(quantile(&validate, 0.95))
    );
    println!(
        "  baseline (YAML into a tree only):                             median {:.3} ms, p95 {:.3} ms",
        millis(parse_median),
        millis(quantile(&parse, 0.95))
    );
    println!("  ratio validate/baseline: {ratio:.2}");
    let json = serde_json::json!({
        "benchmark": "validate-large",
        "tasks": tasks,
        "runs": runs,
        "validate_median_ms": millis(validate_median),
        "validate_p95_ms": millis(quantile(&validate, 0.95)),
        "parse_median_ms": millis(parse_median),
        "ratio": (ratio * 100.0).round() / 100.0,
    });
    println!("{json}");
}
