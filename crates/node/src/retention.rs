//! The server's retention (`kestra.retention`): a minute after start, then every hour, ended
//! executions older than their period go with their log lines and files, and older log lines
//! go. It runs beside the executor, not in it: a slow delete never holds up a step.

use std::sync::Arc;
use std::time::Duration;

use peregrine_ports::retention::{Cutoffs, PurgeCounts, purge_older};
use peregrine_ports::storage::Storage;
use peregrine_ports::store::ExecutionBackend;
use tokio_util::sync::CancellationToken;

use crate::config::RetentionConfig;

/// Delay before the first pass, so a start is not slowed.
const FIRST_PASS: Duration = Duration::from_secs(60);
/// Time between passes.
const EVERY: Duration = Duration::from_secs(3600);

/// Told the ids of each batch of deleted executions.
pub type Forget = Arc<dyn Fn(&[String]) + Send + Sync>;

/// What retention works on.
#[derive(Clone)]
pub struct Retention {
    pub policy: RetentionConfig,
    pub store: Arc<dyn ExecutionBackend>,
    pub storage: Arc<dyn Storage>,
    pub forget: Forget,
}

impl Retention {
    /// Passes until `shutdown`; `report` hears what each pass deleted and what failed.
    pub async fn run(self, shutdown: CancellationToken, report: Arc<dyn Fn(String) + Send + Sync>) {
        if self.policy.executions.period().is_none() && self.policy.logs.period().is_none() {
            return;
        }
        let mut wait = FIRST_PASS;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = EVERY;
            match self.pass(jiff::Timestamp::now()).await {
                Ok(counts) if counts == PurgeCounts::default() => {}
                Ok(counts) => report(format!(
                    "retention: deleted {} ended executions, {} log lines, {} files",
                    counts.executions, counts.logs, counts.files
                )),
                Err(error) => report(format!("retention: {error}")),
            }
        }
    }

    /// One pass at `now`.
    pub async fn pass(
        &self,
        now: jiff::Timestamp,
    ) -> Result<PurgeCounts, peregrine_ports::repository::Error> {
        let before = |period: Option<Duration>| {
            let age = jiff::SignedDuration::try_from(period?).ok()?;
            now.checked_sub(age).ok()
        };
        let cutoffs = Cutoffs {
            executions_before: before(self.policy.executions.period()),
            logs_before: before(self.policy.logs.period()),
            ..Cutoffs::default()
        };
        purge_older(
            self.store.as_ref(),
            self.storage.as_ref(),
            &cutoffs,
            self.forget.as_ref(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use jiff::{SignedDuration, Timestamp};
    use peregrine_model::log::{LogEntry, LogLevel};
    use peregrine_ports::memory::{MemoryExecutions, MemoryStorage};
    use peregrine_ports::repository::ExecutionRepository;
    use peregrine_ports::store::{Commit, ExecutionStore, Transition};
    use serde_json::json;

    use super::*;
    use crate::config::Retention as Period;

    fn ended(id: &str, started: Timestamp, state: &str) -> Transition {
        let header = serde_json::from_value(json!({
            "id": id, "namespace": "team", "flowId": "f", "flowRevision": 1,
            "state": {"current": state, "histories": [
                {"state": "CREATED", "date": started.to_string()},
                {"state": state, "date": started.to_string()},
            ]},
            "metadata": {"attemptNumber": 1, "originalCreatedDate": started.to_string()},
        }))
        .expect("an execution");
        Transition {
            execution_id: id.into(),
            header: Some(header),
            ..Transition::default()
        }
    }

    fn line(execution_id: &str, at: Timestamp) -> LogEntry {
        LogEntry {
            namespace: "team".into(),
            flow_id: "f".into(),
            execution_id: execution_id.into(),
            task_id: None,
            task_run_id: None,
            attempt_number: None,
            timestamp: at,
            level: LogLevel::Info,
            message: "m".into(),
        }
    }

    #[tokio::test]
    async fn a_pass_deletes_what_outlived_its_period_and_tells_the_runtime() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().expect("an instant");
        let days = |count: i64| now - SignedDuration::from_hours(24 * count);
        let store = Arc::new(MemoryExecutions::new());
        let commit = Commit {
            transitions: vec![
                ended("old", days(100), "SUCCESS"),
                ended("old-running", days(100), "RUNNING"),
                ended("recent", days(40), "FAILED"),
            ],
            logs: vec![
                line("old", days(100)),
                line("recent", days(40)),
                line("recent", days(1)),
            ],
            ..Commit::default()
        };
        store.commit(Arc::new(commit)).await.expect("stored");
        let forgotten = Arc::new(Mutex::new(Vec::new()));
        let heard = forgotten.clone();
        let retention = Retention {
            policy: RetentionConfig {
                executions: Period::Days(90),
                logs: Period::Days(30),
            },
            store: store.clone(),
            storage: Arc::new(MemoryStorage::new()),
            forget: Arc::new(move |ids: &[String]| {
                if let Ok(mut heard) = heard.lock() {
                    heard.extend_from_slice(ids);
                }
            }),
        };
        let counts = retention.pass(now).await.expect("a pass");
        assert_eq!(counts.executions, 1);
        assert_eq!(
            counts.logs, 2,
            "the old execution's line, then the 40-day-old line"
        );
        assert_eq!(store.get("old").await, Ok(None));
        assert!(
            store
                .get("old-running")
                .await
                .is_ok_and(|found| found.is_some())
        );
        assert!(store.get("recent").await.is_ok_and(|found| found.is_some()));
        assert_eq!(*forgotten.lock().expect("ids"), vec!["old".to_string()]);
        let kept = RetentionConfig {
            executions: Period::Forever,
            logs: Period::Forever,
        };
        let forever = Retention {
            policy: kept,
            ..retention
        };
        assert_eq!(forever.pass(now).await, Ok(PurgeCounts::default()));
    }
}
