//! Task retries: which policy applies to a failed task run (its own, an enclosing flowable's, or
//! the flow's) and when the next attempt starts, if any.

use jiff::{SignedDuration, Timestamp};
use peregrine_model::execution::TaskRun;
use peregrine_model::flow::{Retry, RetryBehavior, RetryPolicy};

use crate::plan::FlowPlan;
use crate::state::ExecutionState;

/// The retry policy that applies to a task run, nearest first: the task's, an enclosing
/// flowable's, then the flow's.
pub fn policy_for<'a>(
    plan: &'a FlowPlan,
    state: &ExecutionState,
    run: &TaskRun,
) -> Option<&'a Retry> {
    let mut current = Some(run);
    while let Some(run) = current {
        if let Some(retry) = plan
            .find(&run.task_id)
            .and_then(|node| plan.node(node).task.common.retry.as_ref())
        {
            return Some(retry);
        }
        current = run
            .parent_task_run_id
            .as_deref()
            .and_then(|parent| state.run(parent));
    }
    plan.flow.retry.as_ref()
}

/// When the next attempt of a failed task run should start, or None when retries are over.
/// `attempts` counts the attempts made so far, the failed one included.
pub fn next_attempt(
    retry: &Retry,
    run: &TaskRun,
    attempts: u32,
    now: Timestamp,
) -> Option<Timestamp> {
    if retry.common.behavior == RetryBehavior::CreateNewExecution {
        return None;
    }
    let first = run
        .attempts
        .first()
        .and_then(|attempt| attempt.state.started())
        .unwrap_or(now);
    next_date(retry, run, attempts, first, now)
}

/// When a failed execution should be replayed as a new one (`CREATE_NEW_EXECUTION`), or None
/// when retries are over. `attempts` counts the executions so far; `first` is when the first
/// one was created.
pub fn next_execution(
    retry: &Retry,
    run: &TaskRun,
    attempts: u32,
    first: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    if retry.common.behavior != RetryBehavior::CreateNewExecution {
        return None;
    }
    next_date(retry, run, attempts, first, now)
}

fn next_date(
    retry: &Retry,
    run: &TaskRun,
    attempts: u32,
    first: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    if retry.common.max_attempt.is_some_and(|max| attempts >= max) {
        return None;
    }
    let delay = delay(&retry.policy, run, attempts);
    let next = now.checked_add(delay).ok()?;
    if let Some(max_duration) = retry.common.max_duration {
        let limit = first.checked_add(signed(max_duration.as_std())).ok()?;
        // The next attempt must start strictly within maxDuration.
        if next >= limit {
            return None;
        }
    }
    Some(next)
}

fn signed(duration: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}

fn delay(policy: &RetryPolicy, run: &TaskRun, attempts: u32) -> SignedDuration {
    match policy {
        RetryPolicy::Constant(constant) => signed(constant.interval.as_std()),
        RetryPolicy::Exponential(exponential) => {
            let factor = exponential.delay_factor.unwrap_or(2.0).max(1.0);
            let exponent = i32::try_from(attempts.saturating_sub(1)).unwrap_or(i32::MAX);
            let seconds = exponential.interval.as_std().as_secs_f64() * factor.powi(exponent);
            let capped = seconds.min(exponential.max_interval.as_std().as_secs_f64());
            SignedDuration::try_from_secs_f64(capped).unwrap_or(SignedDuration::MAX)
        }
        RetryPolicy::Random(random) => {
            // Deterministic "randomness" (the engine is pure): spread by task run and attempt.
            let (min, max) = (
                random.min_interval.as_std().as_secs_f64(),
                random.max_interval.as_std().as_secs_f64(),
            );
            let spread = (fnv(&run.id, attempts) % 10_000) as f64 / 10_000.0;
            SignedDuration::try_from_secs_f64(min + (max - min).max(0.0) * spread)
                .unwrap_or(SignedDuration::MAX)
        }
    }
}

fn fnv(text: &str, salt: u32) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes().chain(salt.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
