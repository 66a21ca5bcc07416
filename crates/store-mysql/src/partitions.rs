//! Partitions of executions (docs/adr/0004-partitioned-executors.md): how many the database
//! has, and the partition of rows written before it had any.

use peregrine_ports::partition::{self, Partitions};
use sqlx::Row;
use sqlx::mysql::MySqlPool;

/// How many partitions the database has (its `executor_partitions` rows).
pub(crate) async fn count(pool: &MySqlPool) -> Result<u16, sqlx::Error> {
    let row = sqlx::query("SELECT CAST(COUNT(*) AS SIGNED) FROM executor_partitions")
        .fetch_one(pool)
        .await?;
    let rows: i64 = row.try_get(0)?;
    Ok(u16::try_from(rows).unwrap_or(u16::MAX).max(1))
}

/// Gives their partition to unfinished executions and outbox rows written before partitions
/// existed (their `part` is -1). Idempotent; concurrent callers compute the same values.
pub(crate) async fn backfill(pool: &MySqlPool, count: u16) -> Result<(), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT execution_id FROM outbox WHERE part < 0 \
         UNION SELECT id FROM executions WHERE part < 0 AND ended = FALSE",
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<String> = rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    for id in ids {
        let part = part_of(&id, count);
        for update in [
            "UPDATE outbox SET part = ? WHERE execution_id = ? AND part < 0",
            "UPDATE executions SET part = ? WHERE id = ? AND part < 0",
        ] {
            sqlx::query(update)
                .bind(part)
                .bind(&id)
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

/// The condition on the `part` column a read is restricted to (numbers, written into the
/// statement).
pub(crate) fn condition(partitions: &Partitions) -> String {
    match partitions {
        Partitions::All => "TRUE".into(),
        Partitions::Only(held) => format!("part IN ({})", numbers(held)),
    }
}

/// `parts` as a list for `IN (...)`; `-2` (no partition) for none.
pub(crate) fn numbers(parts: &[u16]) -> String {
    if parts.is_empty() {
        return "-2".into();
    }
    parts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
