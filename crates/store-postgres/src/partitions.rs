//! Partitions of executions (docs/adr/0004-partitioned-executors.md): how many the database
//! has, and the partition of rows written before it had any.

use peregrine_ports::partition::{self, Partitions};
use sqlx::postgres::PgPool;

use crate::Failure;

/// How many partitions the database has (its `executor_partitions` rows).
pub(crate) async fn count(pool: &PgPool) -> Result<u16, Failure> {
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM executor_partitions")
        .fetch_one(pool)
        .await?;
    Ok(u16::try_from(rows).unwrap_or(u16::MAX).max(1))
}

/// Gives their partition to unfinished executions and outbox rows written before partitions
/// existed (their `part` is -1). Idempotent; concurrent callers compute the same values.
pub(crate) async fn backfill(pool: &PgPool, count: u16) -> Result<(), Failure> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT execution_id FROM outbox WHERE part < 0 \
         UNION SELECT id FROM executions WHERE part < 0 AND NOT terminated",
    )
    .fetch_all(pool)
    .await?;
    for chunk in ids.chunks(1_000) {
        let parts: Vec<i16> = chunk.iter().map(|id| part_of(id, count)).collect();
        for update in [
            "UPDATE outbox o SET part = d.part \
             FROM UNNEST($1::text[], $2::int2[]) AS d (id, part) \
             WHERE o.execution_id = d.id AND o.part < 0",
            "UPDATE executions e SET part = d.part \
             FROM UNNEST($1::text[], $2::int2[]) AS d (id, part) \
             WHERE e.id = d.id AND e.part < 0",
        ] {
            sqlx::query(update)
                .bind(chunk)
                .bind(&parts)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// The `part` column of an execution's rows.
pub(crate) fn part_of(execution_id: &str, count: u16) -> i16 {
    i16::try_from(partition::of(execution_id, count)).unwrap_or_default()
}

/// The partition numbers a read is restricted to, `None` for every one.
pub(crate) fn restriction(partitions: &Partitions) -> Option<Vec<i16>> {
    match partitions {
        Partitions::All => None,
        Partitions::Only(held) => Some(
            held.iter()
                .filter_map(|part| i16::try_from(*part).ok())
                .collect(),
        ),
    }
}
