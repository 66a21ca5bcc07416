//! The executor's lease (`ExecutorLease`): one row, taken under a row lock; leases are measured
//! on the database's clock. A fenced store's commits read the row `FOR SHARE` first, so a
//! takeover (which updates it) waits for commits under way, and commits after it are refused.

use std::time::Duration;

use peregrine_ports::future::BoxFuture;
use peregrine_ports::lease::{ExecutorLease, Fence};
use peregrine_ports::repository::Error;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool};

use crate::clock::{NOW, micros_of};
use crate::{Failure, PostgresStore, answer};

pub(crate) fn epoch_of(epoch: u64) -> i64 {
    i64::try_from(epoch).unwrap_or(i64::MAX)
}

async fn acquire(pool: &PgPool, owner: &str, ttl: Duration) -> Result<Option<u64>, Failure> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE executor_lease SET \
             epoch = CASE WHEN owner = $1 AND lease_until >= {NOW} THEN epoch ELSE epoch + 1 END, \
             owner = $1, lease_until = {NOW} + $2 \
         WHERE name = 'executor' \
           AND (owner IS NULL OR owner = $1 OR lease_until < {NOW}) \
         RETURNING epoch"
    )))
    .bind(owner)
    .bind(micros_of(ttl))
    .fetch_optional(pool)
    .await?;
    Ok(row
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?
        .map(|epoch| u64::try_from(epoch).unwrap_or_default()))
}

async fn renew(pool: &PgPool, fence: &Fence, ttl: Duration) -> Result<bool, Failure> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE executor_lease SET lease_until = {NOW} + $3 \
         WHERE name = 'executor' AND owner = $1 AND epoch = $2"
    )))
    .bind(&fence.owner)
    .bind(epoch_of(fence.epoch))
    .bind(micros_of(ttl))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn release(pool: &PgPool, fence: &Fence) -> Result<(), Failure> {
    sqlx::query(
        "UPDATE executor_lease SET owner = NULL, lease_until = NULL \
         WHERE name = 'executor' AND owner = $1 AND epoch = $2",
    )
    .bind(&fence.owner)
    .bind(epoch_of(fence.epoch))
    .execute(pool)
    .await?;
    Ok(())
}

/// Inside a commit's transaction: true while `fence` holds the lease (and keeps it until the
/// transaction ends).
pub(crate) async fn holds(connection: &mut PgConnection, fence: &Fence) -> Result<bool, Failure> {
    let row = sqlx::query(
        "SELECT 1 FROM executor_lease \
         WHERE name = 'executor' AND owner = $1 AND epoch = $2 FOR SHARE",
    )
    .bind(&fence.owner)
    .bind(epoch_of(fence.epoch))
    .fetch_optional(connection)
    .await?;
    Ok(row.is_some())
}

impl ExecutorLease for PostgresStore {
    fn acquire<'a>(
        &'a self,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, Error>> {
        Box::pin(async move { answer(acquire(&self.pool, owner, ttl).await) })
    }

    fn renew<'a>(&'a self, fence: &'a Fence, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move { answer(renew(&self.pool, fence, ttl).await) })
    }

    fn release<'a>(&'a self, fence: &'a Fence) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move { answer(release(&self.pool, fence).await) })
    }

    fn fence_commits(&self, fence: Fence) {
        if let Ok(mut current) = self.fence.lock() {
            *current = Some(fence);
        }
    }
}
