//! Shared helpers of the benchmark binaries: timing samples and printing their summary.

use std::time::{Duration, Instant};

pub mod timed_store;

/// Runs `work` `runs` times after `warmup` unmeasured runs; returns the sorted durations.
pub fn sample(warmup: usize, runs: usize, mut work: impl FnMut()) -> Vec<Duration> {
    for _ in 0..warmup {
        work();
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples
}

/// The value at quantile `q` (0.0 to 1.0) of sorted samples.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Milliseconds with three decimals.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// A memory figure of a process from `/proc/<pid>/status` (`self` for this one), in KiB
/// (`VmRSS:`, `VmHWM:`); 0 when it cannot be read.
pub fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}
