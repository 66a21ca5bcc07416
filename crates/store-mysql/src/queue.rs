//! The outbox as a queue between processes, on the `outbox` table's claim columns: `seq` (the
//! order rows were first put in), `kind` (the key's prefix, generated), `claimed_by`,
//! `lease_until` (microseconds on the database's clock), `claims` and `killed`.
//!
//! A claim is one transaction that locks the oldest claimable rows with `FOR UPDATE SKIP
//! LOCKED` (so it never waits on rows another transaction holds) through the index on
//! `(kind, seq)`, then marks them. Renewals, releases and kills update rows by primary key, in
//! its order, as commits lock them, so they do not lock the secondary indexes first.

use std::time::Duration;

use peregrine_ports::future::BoxFuture;
use peregrine_ports::partition::Partitions;
use peregrine_ports::queue::{Claimed, Held, KILLS, OutboxQueue};
use peregrine_ports::repository::Error;
use peregrine_ports::store::OutboxRow;
use peregrine_ports::wakeups::key_prefix;
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, Row};

use crate::batch::{any_of, retried, runs};
use crate::clock::{NOW, micros};
use crate::{MysqlStore, backend, from_text, like_prefix};

fn count(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The condition selecting keys that start with `prefix`, and its values: the indexed `kind`
/// when the prefix holds a `:` (every matching key then has the prefix's own kind).
fn by_prefix(prefix: &str) -> (&'static str, Vec<String>) {
    let pattern = like_prefix(prefix);
    match key_prefix(prefix) {
        Some(kind) => (
            "kind = ? AND `key` LIKE ? ESCAPE '|'",
            vec![kind.to_string(), pattern],
        ),
        None => ("`key` LIKE ? ESCAPE '|'", vec![pattern]),
    }
}

fn outbox_row(row: &MySqlRow) -> Result<OutboxRow, Error> {
    let payload: String = row.try_get("payload").map_err(backend)?;
    Ok(OutboxRow {
        execution_id: row.try_get("execution_id").map_err(backend)?,
        key: row.try_get("key").map_err(backend)?,
        payload: from_text("outbox", &payload)?,
    })
}

/// The rows claimed, as read before the claim marked them (`claims` not yet counted).
async fn claim_in(
    connection: &mut MySqlConnection,
    prefix: &str,
    worker: &str,
    limit: usize,
    lease: Duration,
) -> Result<Vec<MySqlRow>, sqlx::Error> {
    let (condition, values) = by_prefix(prefix);
    let sql = format!(
        "SELECT execution_id, `key`, payload, claims, killed FROM outbox \
         WHERE {condition} AND (claimed_by IS NULL OR lease_until < {NOW}) \
         ORDER BY seq LIMIT ? FOR UPDATE SKIP LOCKED"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for value in &values {
        query = query.bind(value);
    }
    let rows = query.bind(count(limit)).fetch_all(&mut *connection).await?;
    let ids: Vec<(String, String)> = rows
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    for ids in runs(&ids, |_| 0) {
        let sql = format!(
            "UPDATE outbox SET claimed_by = ?, lease_until = {NOW} + ?, claims = claims + 1 \
             WHERE {}",
            any_of("execution_id = ? AND `key` = ?", ids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(worker)
            .bind(micros(lease));
        for (execution_id, key) in ids {
            query = query.bind(execution_id).bind(key);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(rows)
}

/// Extends the leases of `worker`, row by row in primary key order; returns what it holds.
async fn renew_in(
    connection: &mut MySqlConnection,
    worker: &str,
    lease: Duration,
) -> Result<Vec<MySqlRow>, sqlx::Error> {
    let select = "SELECT execution_id, `key`, killed FROM outbox WHERE claimed_by = ? \
                  ORDER BY execution_id, `key`";
    // A plain read: nothing locked through the index on `claimed_by`.
    let ids: Vec<(String, String)> = sqlx::query_as(select)
        .bind(worker)
        .fetch_all(&mut *connection)
        .await?
        .into_iter()
        .map(|(execution_id, key, _): (String, String, bool)| (execution_id, key))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // A row another transaction holds (the executor's commit consuming it, a kill marking it)
    // is skipped, not waited for: under load those commits are large, and a renewal queued
    // behind them would miss the liveness timeout while the database is alive. A skipped row
    // is still answered as held, and is renewed on the next heartbeat, well within its lease.
    let mut free = Vec::with_capacity(ids.len());
    for ids in runs(&ids, |_| 0) {
        let sql = format!(
            "SELECT execution_id, `key` FROM outbox WHERE {} FOR UPDATE SKIP LOCKED",
            any_of("execution_id = ? AND `key` = ?", ids.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(AssertSqlSafe(sql));
        for (execution_id, key) in ids {
            query = query.bind(execution_id).bind(key);
        }
        free.extend(query.fetch_all(&mut *connection).await?);
    }
    free.sort();
    // The holder is checked in the assignment, not the WHERE clause, so only the primary key
    // can serve the statement.
    for ids in runs(&free, |_| 0) {
        let sql = format!(
            "UPDATE outbox SET lease_until = IF(claimed_by = ?, {NOW} + ?, lease_until) \
             WHERE {}",
            any_of("execution_id = ? AND `key` = ?", ids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(worker)
            .bind(micros(lease));
        for (execution_id, key) in ids {
            query = query.bind(execution_id).bind(key);
        }
        query.execute(&mut *connection).await?;
    }
    sqlx::query(select)
        .bind(worker)
        .fetch_all(&mut *connection)
        .await
}

/// Hands back the rows of `ids` (sorted) that `worker` holds.
async fn release_in(
    connection: &mut MySqlConnection,
    worker: &str,
    ids: &[(String, String)],
) -> Result<(), sqlx::Error> {
    for ids in runs(ids, |_| 0) {
        // Assignments run left to right: the lease is cleared while `claimed_by` still names
        // the holder.
        let sql = format!(
            "UPDATE outbox SET lease_until = IF(claimed_by = ?, NULL, lease_until), \
             claimed_by = IF(claimed_by = ?, NULL, claimed_by) WHERE {}",
            any_of("execution_id = ? AND `key` = ?", ids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(worker).bind(worker);
        for (execution_id, key) in ids {
            query = query.bind(execution_id).bind(key);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

impl OutboxQueue for MysqlStore {
    fn claim<'a>(
        &'a self,
        prefix: &'a str,
        worker: &'a str,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Claimed>, Error>> {
        Box::pin(async move {
            if limit == 0 {
                return Ok(Vec::new());
            }
            let rows = retried(|| async move {
                let mut transaction = self.pool.begin().await?;
                let rows = claim_in(&mut transaction, prefix, worker, limit, lease).await?;
                transaction.commit().await?;
                Ok(rows)
            })
            .await?;
            self.polls.polled(prefix, !rows.is_empty());
            rows.iter()
                .map(|row| {
                    let claims: i64 = row.try_get("claims").map_err(backend)?;
                    Ok(Claimed {
                        row: outbox_row(row)?,
                        claims: u32::try_from(claims.saturating_add(1)).unwrap_or(u32::MAX),
                        killed: row.try_get("killed").map_err(backend)?,
                    })
                })
                .collect()
        })
    }

    fn renew<'a>(
        &'a self,
        worker: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<Held>, Error>> {
        Box::pin(async move {
            let rows = retried(|| async move {
                let mut transaction = self.pool.begin().await?;
                let rows = renew_in(&mut transaction, worker, lease).await?;
                transaction.commit().await?;
                Ok(rows)
            })
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Held {
                        execution_id: row.try_get(0).map_err(backend)?,
                        key: row.try_get(1).map_err(backend)?,
                        killed: row.try_get(2).map_err(backend)?,
                    })
                })
                .collect()
        })
    }

    fn release<'a>(
        &'a self,
        worker: &'a str,
        mut rows: Vec<(String, String)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(());
            }
            rows.sort();
            rows.dedup();
            let ids = &rows;
            retried(|| async move {
                let mut transaction = self.pool.begin().await?;
                release_in(&mut transaction, worker, ids).await?;
                transaction.commit().await
            })
            .await?;
            // The rows handed back may be claimed at once.
            self.polls
                .notify_keys(rows.iter().map(|(_, key)| key.as_str()));
            Ok(())
        })
    }

    fn kill<'a>(
        &'a self,
        execution_id: &'a str,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let pattern = &like_prefix(prefix);
            retried(|| {
                sqlx::query(
                    "UPDATE outbox SET killed = TRUE \
                     WHERE execution_id = ? AND `key` LIKE ? ESCAPE '|'",
                )
                .bind(execution_id)
                .bind(pattern)
                .execute(&self.pool)
            })
            .await?;
            self.polls.notify(KILLS);
            Ok(())
        })
    }

    fn rows<'a>(
        &'a self,
        prefix: &'a str,
        partitions: &'a Partitions,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        Box::pin(async move {
            let (condition, values) = by_prefix(prefix);
            let sql = format!(
                "SELECT execution_id, `key`, payload FROM outbox WHERE {condition} AND {} \
                 ORDER BY seq LIMIT ?",
                crate::partitions::condition(partitions)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for value in &values {
                query = query.bind(value);
            }
            let rows = query
                .bind(count(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            self.polls.polled(prefix, !rows.is_empty());
            rows.iter().map(outbox_row).collect()
        })
    }

    fn wait<'a>(&'a self, prefix: &'a str, timeout: Duration) -> BoxFuture<'a, ()> {
        Box::pin(self.polls.wait(prefix, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_with_a_colon_uses_the_kind() {
        assert_eq!(
            by_prefix("job:a_"),
            (
                "kind = ? AND `key` LIKE ? ESCAPE '|'",
                vec!["job:".to_string(), "job:a|_%".to_string()]
            )
        );
        assert_eq!(
            by_prefix("job"),
            ("`key` LIKE ? ESCAPE '|'", vec!["job%".to_string()])
        );
    }
}
