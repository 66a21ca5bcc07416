//! The leases of partitions (`PartitionLeases`): one row per partition in
//! `executor_partitions`, taken as the executor's single lease is (`lease.rs`), and the live
//! executors in `executor_members`. A store fenced by partitions reads, first in each commit's
//! transaction, the rows of the partitions the commit touches `FOR SHARE`: a takeover (which
//! updates them) waits for commits under way, and commits after it are refused.

use std::time::Duration;

use peregrine_ports::future::BoxFuture;
use peregrine_ports::lease::{Holder, PartitionFence, PartitionLeases};
use peregrine_ports::repository::Error;
use peregrine_ports::store::Commit;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool};

use crate::clock::{NOW, micros_of};
use crate::lease::epoch_of;
use crate::{Failure, PostgresStore, answer};

/// Members silent for this long are forgotten.
const FORGET_MEMBERS: Duration = Duration::from_secs(3_600);

fn epoch_from(epoch: i64) -> u64 {
    u64::try_from(epoch).unwrap_or_default()
}

fn part(partition: u16) -> i16 {
    i16::try_from(partition).unwrap_or(i16::MAX)
}

async fn join(pool: &PgPool, owner: &str, ttl: Duration) -> Result<Vec<String>, Failure> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO executor_members (owner, lease_until) VALUES ($1, {NOW} + $2) \
         ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until"
    )))
    .bind(owner)
    .bind(micros_of(ttl))
    .execute(pool)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM executor_members WHERE lease_until < {NOW} - $1"
    )))
    .bind(micros_of(FORGET_MEMBERS))
    .execute(pool)
    .await?;
    let members = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT owner FROM executor_members WHERE lease_until >= {NOW} ORDER BY owner"
    )))
    .fetch_all(pool)
    .await?;
    Ok(members)
}

async fn holders(pool: &PgPool) -> Result<Vec<Holder>, Failure> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT part, CASE WHEN lease_until >= {NOW} THEN owner END \
         FROM executor_partitions ORDER BY part"
    )))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Holder {
                partition: u16::try_from(row.try_get::<i16, _>(0)?).unwrap_or_default(),
                owner: row.try_get(1)?,
            })
        })
        .collect()
}

async fn acquire(
    pool: &PgPool,
    owner: &str,
    partition: u16,
    ttl: Duration,
) -> Result<Option<u64>, Failure> {
    let epoch: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE executor_partitions SET \
             epoch = CASE WHEN owner = $1 AND lease_until >= {NOW} THEN epoch ELSE epoch + 1 END, \
             owner = $1, lease_until = {NOW} + $2 \
         WHERE part = $3 AND (owner IS NULL OR owner = $1 OR lease_until < {NOW}) \
         RETURNING epoch"
    )))
    .bind(owner)
    .bind(micros_of(ttl))
    .bind(part(partition))
    .fetch_optional(pool)
    .await?;
    Ok(epoch.map(epoch_from))
}

async fn renew(pool: &PgPool, fence: &PartitionFence, ttl: Duration) -> Result<Vec<u16>, Failure> {
    if fence.epochs.is_empty() {
        return Ok(Vec::new());
    }
    let (parts, epochs): (Vec<i16>, Vec<i64>) = fence
        .epochs
        .iter()
        .map(|(partition, epoch)| (part(*partition), epoch_of(*epoch)))
        .unzip();
    // Rows locked in the order of their partitions, as commits lock them.
    let renewed: Vec<i16> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH held AS (SELECT p.part FROM executor_partitions p \
             JOIN UNNEST($3::int2[], $4::bigint[]) AS f (part, epoch) \
             ON p.part = f.part AND p.epoch = f.epoch \
             WHERE p.owner = $1 ORDER BY p.part FOR UPDATE OF p) \
         UPDATE executor_partitions SET lease_until = {NOW} + $2 \
         WHERE part IN (SELECT part FROM held) RETURNING part"
    )))
    .bind(&fence.owner)
    .bind(micros_of(ttl))
    .bind(parts)
    .bind(epochs)
    .fetch_all(pool)
    .await?;
    let mut renewed: Vec<u16> = renewed
        .into_iter()
        .filter_map(|part| u16::try_from(part).ok())
        .collect();
    renewed.sort_unstable();
    Ok(renewed)
}

/// Inside a commit's transaction: `None` while `fence` holds every partition the commit
/// touches (and keeps them until the transaction ends), else why not.
pub(crate) async fn check(
    connection: &mut PgConnection,
    fence: &PartitionFence,
    commit: &Commit,
    count: u16,
) -> Result<Option<String>, Failure> {
    let touched = commit.partitions_written(count);
    if let Some(refused) = fence.refuse_unheld(&touched) {
        return Ok(Some(refused));
    }
    if touched.is_empty() {
        return Ok(None);
    }
    let parts: Vec<i16> = touched.iter().map(|p| part(*p)).collect();
    let rows = sqlx::query(
        "SELECT part, owner, epoch FROM executor_partitions WHERE part = ANY($1) \
         ORDER BY part FOR SHARE",
    )
    .bind(&parts)
    .fetch_all(&mut *connection)
    .await?;
    for row in rows {
        let partition = u16::try_from(row.try_get::<i16, _>(0)?).unwrap_or_default();
        let owner: Option<String> = row.try_get(1)?;
        let epoch = epoch_from(row.try_get(2)?);
        if let Some(refused) = fence.refuse(partition, owner.as_deref(), epoch) {
            return Ok(Some(refused));
        }
    }
    Ok(None)
}

impl PartitionLeases for PostgresStore {
    fn join<'a>(
        &'a self,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move { answer(join(&self.pool, owner, ttl).await) })
    }

    fn leave<'a>(&'a self, owner: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let left = sqlx::query("DELETE FROM executor_members WHERE owner = $1")
                .bind(owner)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(Failure::from);
            answer(left)
        })
    }

    fn holders(&self) -> BoxFuture<'_, Result<Vec<Holder>, Error>> {
        Box::pin(async move { answer(holders(&self.pool).await) })
    }

    fn acquire_partition<'a>(
        &'a self,
        owner: &'a str,
        partition: u16,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, Error>> {
        Box::pin(async move { answer(acquire(&self.pool, owner, partition, ttl).await) })
    }

    fn renew_partitions<'a>(
        &'a self,
        fence: &'a PartitionFence,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<u16>, Error>> {
        Box::pin(async move { answer(renew(&self.pool, fence, ttl).await) })
    }

    fn release_partition<'a>(
        &'a self,
        owner: &'a str,
        partition: u16,
        epoch: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let released = sqlx::query(
                "UPDATE executor_partitions SET owner = NULL, lease_until = NULL \
                 WHERE part = $1 AND owner = $2 AND epoch = $3",
            )
            .bind(part(partition))
            .bind(owner)
            .bind(epoch_of(epoch))
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(Failure::from);
            answer(released)
        })
    }

    fn fence_partitions(&self, fence: PartitionFence) {
        if let Ok(mut current) = self.partition_fence.lock() {
            *current = Some(fence);
        }
    }
}
