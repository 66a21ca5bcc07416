//! The leases of partitions (`PartitionLeases`): one row per partition in
//! `executor_partitions`, taken as the executor's single lease is (`lease.rs`: the row locked,
//! decided on, written, in one transaction), and the live executors in `executor_members`. A
//! store fenced by partitions reads, first in each commit's transaction, the rows of the
//! partitions the commit touches with a shared lock: a takeover waits for the commits in
//! flight, and a commit started after it sees the new epoch.

use std::time::Duration;

use peregrine_ports::future::BoxFuture;
use peregrine_ports::lease::{Holder, PartitionFence, PartitionLeases};
use peregrine_ports::repository::Error;
use peregrine_ports::store::Commit;
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::MysqlStore;
use crate::batch::retried;
use crate::clock::{NOW, micros};
use crate::lease;

/// Members silent for this long are forgotten.
const FORGET_MEMBERS: Duration = Duration::from_secs(3_600);

fn epoch_from(epoch: i64) -> u64 {
    u64::try_from(epoch).unwrap_or_default()
}

fn partition_from(part: i16) -> u16 {
    u16::try_from(part).unwrap_or_default()
}

/// `(part = ? AND epoch = ?) OR ...` for every partition of `fence`, with its values.
fn held_condition(fence: &PartitionFence) -> (String, Vec<(i64, i64)>) {
    let values: Vec<(i64, i64)> = fence
        .epochs
        .iter()
        .map(|(partition, epoch)| (i64::from(*partition), lease::epoch(*epoch)))
        .collect();
    let condition = vec!["(part = ? AND epoch = ?)"; values.len()].join(" OR ");
    (condition, values)
}

/// Inside a commit's transaction: `None` while `fence` holds every partition the commit
/// touches (read locked until the transaction ends), else why not.
pub(crate) async fn check(
    connection: &mut MySqlConnection,
    fence: &PartitionFence,
    commit: &Commit,
    count: u16,
) -> Result<Option<String>, sqlx::Error> {
    let touched = commit.partitions_written(count);
    if let Some(refused) = fence.refuse_unheld(&touched) {
        return Ok(Some(refused));
    }
    if touched.is_empty() {
        return Ok(None);
    }
    let parts: Vec<u16> = touched.into_iter().collect();
    let sql = format!(
        "SELECT part, owner, epoch FROM executor_partitions WHERE part IN ({}) \
         ORDER BY part LOCK IN SHARE MODE",
        crate::partitions::numbers(&parts)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *connection)
        .await?;
    for row in rows {
        let partition = partition_from(row.try_get(0)?);
        let owner: Option<String> = row.try_get(1)?;
        let epoch = epoch_from(row.try_get(2)?);
        if let Some(refused) = fence.refuse(partition, owner.as_deref(), epoch) {
            return Ok(Some(refused));
        }
    }
    Ok(None)
}

/// Takes or extends `partition` in the caller's transaction: its epoch, or `None` while
/// another owner holds it.
async fn acquire_in(
    connection: &mut MySqlConnection,
    owner: &str,
    partition: u16,
    ttl: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = format!(
        "SELECT epoch, owner IS NULL OR lease_until IS NULL OR lease_until < {NOW}, \
         COALESCE(owner = ?, FALSE) FROM executor_partitions WHERE part = ? FOR UPDATE"
    );
    let Some(row) = sqlx::query(AssertSqlSafe(sql))
        .bind(owner)
        .bind(partition)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(None);
    };
    let current: i64 = row.try_get(0)?;
    let free: bool = row.try_get(1)?;
    let holds: bool = row.try_get(2)?;
    let (epoch, sql) = if free {
        (
            current.saturating_add(1),
            format!(
                "UPDATE executor_partitions SET owner = ?, epoch = epoch + 1, \
                 lease_until = {NOW} + ? WHERE part = ?"
            ),
        )
    } else if holds {
        (
            current,
            format!(
                "UPDATE executor_partitions SET owner = ?, lease_until = {NOW} + ? WHERE part = ?"
            ),
        )
    } else {
        return Ok(None);
    };
    sqlx::query(AssertSqlSafe(sql))
        .bind(owner)
        .bind(ttl)
        .bind(partition)
        .execute(&mut *connection)
        .await?;
    Ok(Some(epoch))
}

impl MysqlStore {
    pub(crate) fn partition_fence(&self) -> Option<PartitionFence> {
        self.partition_fence.get()
    }
}

impl PartitionLeases for MysqlStore {
    fn join<'a>(
        &'a self,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let upsert = format!(
                "INSERT INTO executor_members (owner, lease_until) VALUES (?, {NOW} + ?) \
                 ON DUPLICATE KEY UPDATE lease_until = VALUES(lease_until)"
            );
            let upsert = &upsert;
            retried(|| {
                sqlx::query(AssertSqlSafe(upsert.as_str()))
                    .bind(owner)
                    .bind(micros(ttl))
                    .execute(&self.pool)
            })
            .await?;
            let forget = format!("DELETE FROM executor_members WHERE lease_until < {NOW} - ?");
            let forget = &forget;
            retried(|| {
                sqlx::query(AssertSqlSafe(forget.as_str()))
                    .bind(micros(FORGET_MEMBERS))
                    .execute(&self.pool)
            })
            .await?;
            let live = format!(
                "SELECT owner FROM executor_members WHERE lease_until >= {NOW} ORDER BY owner"
            );
            let live = &live;
            let rows =
                retried(|| sqlx::query(AssertSqlSafe(live.as_str())).fetch_all(&self.pool)).await?;
            rows.iter()
                .map(|row| row.try_get(0).map_err(crate::backend))
                .collect()
        })
    }

    fn leave<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            retried(|| {
                sqlx::query("DELETE FROM executor_members WHERE owner = ?")
                    .bind(owner)
                    .execute(&self.pool)
            })
            .await?;
            Ok(())
        })
    }

    fn holders(&self) -> BoxFuture<'_, Result<Vec<Holder>, Error>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT part, CASE WHEN lease_until >= {NOW} THEN owner END \
                 FROM executor_partitions ORDER BY part"
            );
            let sql = &sql;
            let rows =
                retried(|| sqlx::query(AssertSqlSafe(sql.as_str())).fetch_all(&self.pool)).await?;
            rows.iter()
                .map(|row| {
                    Ok(Holder {
                        partition: partition_from(row.try_get(0).map_err(crate::backend)?),
                        owner: row.try_get(1).map_err(crate::backend)?,
                    })
                })
                .collect()
        })
    }

    fn acquire_partition<'a>(
        &'a self,
        owner: &'a str,
        partition: u16,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, Error>> {
        Box::pin(async move {
            let ttl = micros(ttl);
            let epoch = retried(|| async move {
                let mut transaction = self.pool.begin().await?;
                let epoch = acquire_in(&mut transaction, owner, partition, ttl).await?;
                transaction.commit().await?;
                Ok(epoch)
            })
            .await?;
            Ok(epoch.map(epoch_from))
        })
    }

    fn renew_partitions<'a>(
        &'a self,
        fence: &'a PartitionFence,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u16>, Error>> {
        Box::pin(async move {
            if fence.epochs.is_empty() {
                return Ok(Vec::new());
            }
            let (condition, values) = held_condition(fence);
            let update = format!(
                "UPDATE executor_partitions SET lease_until = {NOW} + ? \
                 WHERE owner = ? AND ({condition}) ORDER BY part"
            );
            let (update, values) = (&update, &values);
            retried(|| {
                let mut query = sqlx::query(AssertSqlSafe(update.as_str()))
                    .bind(micros(ttl))
                    .bind(&fence.owner);
                for (part, epoch) in values {
                    query = query.bind(part).bind(epoch);
                }
                query.execute(&self.pool)
            })
            .await?;
            let select = format!(
                "SELECT part FROM executor_partitions WHERE owner = ? AND ({condition}) \
                 ORDER BY part"
            );
            let select = &select;
            let rows = retried(|| {
                let mut query = sqlx::query(AssertSqlSafe(select.as_str())).bind(&fence.owner);
                for (part, epoch) in values {
                    query = query.bind(part).bind(epoch);
                }
                query.fetch_all(&self.pool)
            })
            .await?;
            rows.iter()
                .map(|row| row.try_get(0).map(partition_from).map_err(crate::backend))
                .collect()
        })
    }

    fn release_partition<'a>(
        &'a self,
        owner: &'a str,
        partition: u16,
        epoch: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            retried(|| {
                sqlx::query(
                    "UPDATE executor_partitions SET owner = NULL, lease_until = NULL \
                     WHERE part = ? AND owner = ? AND epoch = ?",
                )
                .bind(partition)
                .bind(owner)
                .bind(lease::epoch(epoch))
                .execute(&self.pool)
            })
            .await?;
            Ok(())
        })
    }

    fn fence_partitions(&self, fence: PartitionFence) {
        self.partition_fence.set(fence);
    }
}
