//! The executor's lease, on the one row of `executor_lease`: its `owner`, the `epoch` each
//! acquisition raises, and `lease_until` (microseconds on the database's clock, like the
//! queue's leases).
//!
//! An acquisition locks the row (`FOR UPDATE`), decides, and writes it in one transaction.
//! Renewals and releases are single updates matching owner and epoch: this backend's
//! connections report the rows an update matched, not only those it changed, so a renewal that
//! happens to leave `lease_until` as it was still counts. A fenced commit reads the row first
//! in its transaction with a shared lock (see [`check`]): an acquisition then waits for the
//! commits in flight, and a commit started after it sees the new epoch.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use peregrine_ports::future::BoxFuture;
use peregrine_ports::lease::{ExecutorLease, Fence};
use peregrine_ports::repository::Error;
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::MysqlStore;
use crate::batch::retried;
use crate::clock::{NOW, micros};

/// The `owner` column's length, in characters.
const LONGEST_OWNER: usize = 255;

/// The fence every commit of a store and its clones checks, once one is set (the executor's
/// lease, or the partitions held).
#[derive(Debug)]
pub(crate) struct SharedFence<F>(Mutex<Option<F>>);

impl<F> Default for SharedFence<F> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<F: Clone> SharedFence<F> {
    /// The fence set last, if any.
    pub(crate) fn get(&self) -> Option<F> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set(&self, fence: F) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fence);
    }
}

pub(crate) fn epoch(epoch: u64) -> i64 {
    i64::try_from(epoch).unwrap_or(i64::MAX)
}

fn valid_owner(owner: &str) -> Result<(), Error> {
    if owner.chars().count() > LONGEST_OWNER {
        return Err(Error::Invalid(format!(
            "an executor lease owner is at most {LONGEST_OWNER} characters long"
        )));
    }
    Ok(())
}

/// What an acquisition found.
enum Acquired {
    /// The lease is this owner's, at this epoch.
    Held(i64),
    /// Another owner holds it.
    Taken,
    /// The lease's row is gone.
    Missing,
}

/// Takes or extends the lease in the caller's transaction.
async fn acquire_in(
    connection: &mut MySqlConnection,
    owner: &str,
    ttl: i64,
) -> Result<Acquired, sqlx::Error> {
    // The owner is compared by the server, as renewals, releases and commits compare it.
    let sql = format!(
        "SELECT epoch, owner IS NULL OR lease_until IS NULL OR lease_until < {NOW}, \
         COALESCE(owner = ?, FALSE) FROM executor_lease WHERE name = 'executor' FOR UPDATE"
    );
    let Some(row) = sqlx::query(AssertSqlSafe(sql))
        .bind(owner)
        .fetch_optional(&mut *connection)
        .await?
    else {
        return Ok(Acquired::Missing);
    };
    let current: i64 = row.try_get(0)?;
    let free: bool = row.try_get(1)?;
    let holds: bool = row.try_get(2)?;
    if free {
        let sql = format!(
            "UPDATE executor_lease SET owner = ?, epoch = epoch + 1, lease_until = {NOW} + ? \
             WHERE name = 'executor'"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(ttl)
            .execute(&mut *connection)
            .await?;
        return Ok(Acquired::Held(current.saturating_add(1)));
    }
    if !holds {
        return Ok(Acquired::Taken);
    }
    let sql = format!("UPDATE executor_lease SET lease_until = {NOW} + ? WHERE name = 'executor'");
    sqlx::query(AssertSqlSafe(sql))
        .bind(ttl)
        .execute(&mut *connection)
        .await?;
    Ok(Acquired::Held(current))
}

/// Checks, first in a commit's transaction, that `fence` still holds the lease; the row stays
/// read locked until the transaction ends, so no acquisition lands before the commit does.
/// `Some` reason when it does not hold it.
pub(crate) async fn check(
    connection: &mut MySqlConnection,
    fence: &Fence,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT owner, epoch, COALESCE(owner = ? AND epoch = ?, FALSE) FROM executor_lease \
         WHERE name = 'executor' LOCK IN SHARE MODE",
    )
    .bind(&fence.owner)
    .bind(epoch(fence.epoch))
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(Some(format!(
            "fenced: the executor lease is gone; this executor held epoch {}",
            fence.epoch
        )));
    };
    if row.try_get::<bool, _>(2)? {
        return Ok(None);
    }
    let holder: Option<String> = row.try_get(0)?;
    let current: i64 = row.try_get(1)?;
    Ok(Some(match holder {
        Some(_) => format!(
            "fenced: the executor lease is now held by another executor (epoch {current}); \
             this executor held epoch {}",
            fence.epoch
        ),
        None => format!(
            "fenced: the executor lease was given up (epoch {current}); this executor held \
             epoch {}",
            fence.epoch
        ),
    }))
}

impl ExecutorLease for MysqlStore {
    fn acquire<'a>(
        &'a self,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<u64>, Error>> {
        Box::pin(async move {
            valid_owner(owner)?;
            let ttl = micros(ttl);
            let acquired = retried(|| async move {
                let mut transaction = self.pool.begin().await?;
                let acquired = acquire_in(&mut transaction, owner, ttl).await?;
                transaction.commit().await?;
                Ok(acquired)
            })
            .await?;
            match acquired {
                Acquired::Held(epoch) => Ok(Some(u64::try_from(epoch).unwrap_or_default())),
                Acquired::Taken => Ok(None),
                Acquired::Missing => Err(Error::Backend(
                    "mysql: the executor_lease row is missing".into(),
                )),
            }
        })
    }

    fn renew<'a>(&'a self, fence: &'a Fence, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let sql = format!(
                "UPDATE executor_lease SET lease_until = {NOW} + ? \
                 WHERE name = 'executor' AND owner = ? AND epoch = ?"
            );
            let sql = &sql;
            let renewed = retried(|| {
                sqlx::query(AssertSqlSafe(sql.as_str()))
                    .bind(micros(ttl))
                    .bind(&fence.owner)
                    .bind(epoch(fence.epoch))
                    .execute(&self.pool)
            })
            .await?;
            // Matched rows (the connection asks for them), so a renewal that leaves the
            // lease's end as it was still counts.
            Ok(renewed.rows_affected() == 1)
        })
    }

    fn release<'a>(&'a self, fence: &'a Fence) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            retried(|| {
                sqlx::query(
                    "UPDATE executor_lease SET owner = NULL, lease_until = NULL \
                     WHERE name = 'executor' AND owner = ? AND epoch = ?",
                )
                .bind(&fence.owner)
                .bind(epoch(fence.epoch))
                .execute(&self.pool)
            })
            .await?;
            Ok(())
        })
    }

    fn fence_commits(&self, fence: Fence) {
        self.fence.set(fence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fence_is_shared_and_replaced() {
        let shared = SharedFence::<Fence>::default();
        assert_eq!(shared.get(), None);
        let first = Fence {
            owner: "a".into(),
            epoch: 1,
        };
        shared.set(first.clone());
        assert_eq!(shared.get(), Some(first));
        let second = Fence {
            owner: "b".into(),
            epoch: 2,
        };
        shared.set(second.clone());
        assert_eq!(shared.get(), Some(second));
    }

    #[test]
    fn owners_fit_their_column() {
        assert!(valid_owner(&"é".repeat(LONGEST_OWNER)).is_ok());
        assert!(matches!(
            valid_owner(&"a".repeat(LONGEST_OWNER + 1)),
            Err(Error::Invalid(_))
        ));
    }
}
