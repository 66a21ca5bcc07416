//! The outbox as a queue between processes (`OutboxQueue`): claims take rows with
//! `FOR UPDATE SKIP LOCKED`, so workers never wait on each other, and leases are instants of the
//! database's clock. A commit that puts rows announces their prefixes on one `NOTIFY` channel;
//! a listener connection (opened at the first claim, read or wait) wakes the waiters of this
//! process. Waits still end at their timeout, which covers notifications lost while the
//! listener reconnects.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use peregrine_ports::future::BoxFuture;
use peregrine_ports::partition::Partitions;
use peregrine_ports::queue::{Claimed, Held, KILLS, OutboxQueue};
use peregrine_ports::repository::Error;
use peregrine_ports::store::OutboxRow;
use peregrine_ports::wakeups::Wakeups;
use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool, PgRow};

use crate::clock::{NOW, micros_of};
use crate::{Failure, PostgresStore, answer, from_text};

/// The channel commits announce the prefixes of the rows they put on.
pub(crate) const CHANNEL: &str = "peregrine_outbox";

/// The waiters of this process, by prefix, and the listener feeding them.
#[derive(Default)]
pub(crate) struct Notices {
    wakeups: Wakeups,
    /// The prefixes waited on, to wake them all when notifications may have been lost.
    waited: Mutex<Vec<String>>,
    listening: std::sync::OnceLock<()>,
}

impl Notices {
    /// Wakes the waiter of `prefix` (or keeps the wake-up for its next wait).
    pub(crate) fn notify(&self, prefix: &str) {
        self.wakeups.notify(prefix);
    }

    fn notify_all(&self) {
        let waited = self.waited.lock().map(|waited| waited.clone());
        for prefix in waited.unwrap_or_default() {
            self.wakeups.notify(&prefix);
        }
    }

    async fn wait(&self, prefix: &str, timeout: Duration) {
        if let Ok(mut waited) = self.waited.lock()
            && !waited.iter().any(|known| known == prefix)
        {
            waited.push(prefix.to_string());
        }
        self.wakeups.wait(prefix, timeout).await;
    }

    /// Starts the listener once per store.
    fn listen(self: &Arc<Self>, pool: &PgPool) {
        if self.listening.set(()).is_err() {
            return;
        }
        let (notices, pool) = (self.clone(), pool.clone());
        tokio::spawn(async move { notices.run_listener(pool).await });
    }

    async fn run_listener(&self, pool: PgPool) {
        loop {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if listener.listen(CHANNEL).await.is_err() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            // Rows put before the listener listened are looked for by the next wait.
            self.notify_all();
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => self.notify(notification.payload()),
                    // The connection was lost and is opened again by the next call: what was
                    // announced meanwhile is unknown, so every waiter looks.
                    Ok(None) => self.notify_all(),
                    Err(_) => {
                        self.notify_all();
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                }
            }
        }
    }
}

fn outbox_row(row: &PgRow) -> Result<OutboxRow, Failure> {
    Ok(OutboxRow {
        execution_id: row.try_get("execution_id")?,
        key: row.try_get("key")?,
        payload: from_text(&row.try_get::<String, _>("payload")?)?,
    })
}

/// The range of keys starting with `prefix` (key columns sort bytewise), which the index on
/// keys serves: from the prefix to the prefix with its last character incremented.
fn key_range(prefix: &str) -> (String, String) {
    let mut end = prefix.to_string();
    match end
        .pop()
        .and_then(|last| char::from_u32(u32::from(last) + 1))
    {
        Some(next) => end.push(next),
        None => end = String::from(char::MAX),
    }
    (prefix.to_string(), end)
}

async fn claim(
    pool: &PgPool,
    prefix: &str,
    worker: &str,
    limit: usize,
    lease: Duration,
) -> Result<Vec<Claimed>, Failure> {
    let (from, to) = key_range(prefix);
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox o SET claimed_by = $1, lease_until = {NOW} + $2, claims = o.claims + 1 \
         FROM (SELECT execution_id, key FROM outbox \
               WHERE key >= $3 AND key < $4 \
                 AND (claimed_by IS NULL OR lease_until < {NOW}) \
               ORDER BY seq LIMIT $5 FOR UPDATE SKIP LOCKED) c \
         WHERE o.execution_id = c.execution_id AND o.key = c.key \
         RETURNING o.execution_id, o.key, o.payload, o.claims, o.killed, o.seq"
    )))
    .bind(worker)
    .bind(micros_of(lease))
    .bind(from)
    .bind(to)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>("seq")?,
                Claimed {
                    row: outbox_row(row)?,
                    claims: u32::try_from(row.try_get::<i32, _>("claims")?).unwrap_or_default(),
                    killed: row.try_get("killed")?,
                },
            ))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    claimed.sort_by_key(|(seq, _)| *seq);
    Ok(claimed.into_iter().map(|(_, claimed)| claimed).collect())
}

async fn renew(pool: &PgPool, worker: &str, lease: Duration) -> Result<Vec<Held>, Failure> {
    // A row another transaction holds (the executor's commit consuming it, a kill marking it)
    // is skipped, not waited for: under load those commits are large, and a renewal queued
    // behind them would miss the liveness timeout while the database is alive. A skipped row
    // is still answered as held (the statement's snapshot still shows it), and is renewed on
    // the next heartbeat, well within its lease.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH renewed AS (UPDATE outbox o SET lease_until = {NOW} + $2 \
         FROM (SELECT execution_id, key FROM outbox WHERE claimed_by = $1 \
               ORDER BY execution_id, key FOR UPDATE SKIP LOCKED) h \
         WHERE o.execution_id = h.execution_id AND o.key = h.key RETURNING o.key) \
         SELECT execution_id, key, killed FROM outbox WHERE claimed_by = $1 \
         ORDER BY execution_id, key"
    )))
    .bind(worker)
    .bind(micros_of(lease))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Held {
                execution_id: row.try_get("execution_id")?,
                key: row.try_get("key")?,
                killed: row.try_get("killed")?,
            })
        })
        .collect()
}

async fn release(pool: &PgPool, worker: &str, rows: Vec<(String, String)>) -> Result<(), Failure> {
    if rows.is_empty() {
        return Ok(());
    }
    let (executions, keys): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    sqlx::query(
        "UPDATE outbox o SET claimed_by = NULL, lease_until = NULL \
         FROM UNNEST($2::text[], $3::text[]) AS r (execution_id, key) \
         WHERE o.execution_id = r.execution_id AND o.key = r.key AND o.claimed_by = $1",
    )
    .bind(worker)
    .bind(executions)
    .bind(keys)
    .execute(pool)
    .await?;
    Ok(())
}

async fn kill(pool: &PgPool, execution_id: &str, prefix: &str) -> Result<(), Failure> {
    let mut transaction = pool.begin().await?;
    sqlx::query("UPDATE outbox SET killed = TRUE WHERE execution_id = $1 AND starts_with(key, $2)")
        .bind(execution_id)
        .bind(prefix)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(KILLS)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

async fn rows(
    pool: &PgPool,
    prefix: &str,
    partitions: &Partitions,
    limit: usize,
) -> Result<Vec<OutboxRow>, Failure> {
    let (from, to) = key_range(prefix);
    // `$4` NULL: every partition.
    let rows = sqlx::query(
        "SELECT execution_id, key, payload FROM outbox WHERE key >= $1 AND key < $2 \
         AND ($4::int2[] IS NULL OR part = ANY($4)) ORDER BY seq LIMIT $3",
    )
    .bind(from)
    .bind(to)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(crate::partitions::restriction(partitions))
    .fetch_all(pool)
    .await?;
    rows.iter().map(outbox_row).collect()
}

impl OutboxQueue for PostgresStore {
    fn claim<'a>(
        &'a self,
        prefix: &'a str,
        worker: &'a str,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        self.notices.listen(&self.pool);
        Box::pin(async move { answer(claim(&self.pool, prefix, worker, limit, lease).await) })
    }

    fn renew<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Held>, Error>> {
        Box::pin(async move { answer(renew(&self.pool, worker, lease).await) })
    }

    fn release<'a>(
        &'a self,
        worker: &'a str,
        rows: Vec<(String, String)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { answer(release(&self.pool, worker, rows).await) })
    }

    fn kill<'a>(
        &'a self,
        execution_id: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            answer(kill(&self.pool, execution_id, prefix).await)?;
            self.notices.notify(KILLS);
            Ok(())
        })
    }

    fn rows<'a>(
        &'a self,
        prefix: &'a str,
        partitions: &'a Partitions,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        self.notices.listen(&self.pool);
        Box::pin(async move { answer(rows(&self.pool, prefix, partitions, limit).await) })
    }

    fn wait<'a>(&'a self, prefix: &'a str, timeout: Duration) -> BoxFuture<'a, ()> {
        self.notices.listen(&self.pool);
        Box::pin(self.notices.wait(prefix, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_range_holds_every_key_of_the_prefix() {
        let (from, to) = key_range("job:");
        for key in ["job:", "job:a", "job:\u{10ffff}"] {
            assert!(key >= from.as_str() && key < to.as_str(), "{key}");
        }
        assert!("job;" >= to.as_str() && "joba" >= to.as_str());
    }
}
