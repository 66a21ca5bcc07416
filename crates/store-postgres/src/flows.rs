//! Flows with revisions: one row per revision; the latest row of a deleted flow is marked.
//!
//! A new revision is an insert that does nothing when another writer stored the same revision
//! first; the save then reads the latest revision again and decides anew.

use jiff::Timestamp;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, FlowHead, FlowQuery, FlowRecord, FlowRepository};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{QueryBuilder, Row};

use crate::{Failure, PostgresStore, answer, instant, micros};

const COLUMNS: &str = "namespace, id, revision, source, updated, deleted";

/// How many times a save reads again after another writer took the revision it meant to write.
const SAVE_ATTEMPTS: usize = 16;

fn record(row: &PgRow) -> Result<FlowRecord, sqlx::Error> {
    Ok(FlowRecord {
        namespace: row.try_get(0)?,
        id: row.try_get(1)?,
        revision: u32::try_from(row.try_get::<i32, _>(2)?).unwrap_or_default(),
        source: row.try_get(3)?,
        updated: instant(row.try_get(4)?),
        deleted: row.try_get(5)?,
    })
}

async fn latest(pool: &PgPool, namespace: &str, id: &str) -> Result<Option<FlowRecord>, Failure> {
    let row = sqlx::query(
        "SELECT namespace, id, revision, source, updated, deleted FROM flows \
         WHERE namespace = $1 AND id = $2 ORDER BY revision DESC LIMIT 1",
    )
    .bind(namespace)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(record).transpose()?)
}

async fn save(
    pool: &PgPool,
    namespace: &str,
    id: &str,
    source: String,
    now: Timestamp,
) -> Result<FlowRecord, Error> {
    for _ in 0..SAVE_ATTEMPTS {
        let previous = answer(latest(pool, namespace, id).await)?;
        if let Some(previous) = previous
            .as_ref()
            .filter(|previous| !previous.deleted && previous.source == source)
        {
            return Ok(previous.clone());
        }
        let revision = previous.map_or(1, |previous| previous.revision + 1);
        let inserted = sqlx::query(
            "INSERT INTO flows (namespace, id, revision, source, updated, deleted) \
             VALUES ($1, $2, $3, $4, $5, FALSE) ON CONFLICT DO NOTHING",
        )
        .bind(namespace)
        .bind(id)
        .bind(i32::try_from(revision).unwrap_or(i32::MAX))
        .bind(&source)
        .bind(micros(now))
        .execute(pool)
        .await
        .map_err(|error| Error::from(Failure::from(error)))?;
        if inserted.rows_affected() == 1 {
            return Ok(FlowRecord {
                namespace: namespace.to_string(),
                id: id.to_string(),
                revision,
                source,
                updated: now,
                deleted: false,
            });
        }
    }
    Err(Error::Conflict(format!(
        "flow {namespace}.{id} changed {SAVE_ATTEMPTS} times while it was saved"
    )))
}

async fn get(
    pool: &PgPool,
    namespace: &str,
    id: &str,
    revision: Option<u32>,
) -> Result<Option<FlowRecord>, Failure> {
    let Some(last) = latest(pool, namespace, id)
        .await?
        .filter(|last| !last.deleted)
    else {
        return Ok(None);
    };
    let Some(revision) = revision else {
        return Ok(Some(last));
    };
    let row = sqlx::query(
        "SELECT namespace, id, revision, source, updated, deleted FROM flows \
         WHERE namespace = $1 AND id = $2 AND revision = $3",
    )
    .bind(namespace)
    .bind(id)
    .bind(i32::try_from(revision).unwrap_or(i32::MAX))
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(record).transpose()?)
}

async fn revisions(pool: &PgPool, namespace: &str, id: &str) -> Result<Vec<FlowRecord>, Failure> {
    let rows = sqlx::query(
        "SELECT namespace, id, revision, source, updated, deleted FROM flows \
         WHERE namespace = $1 AND id = $2 ORDER BY revision",
    )
    .bind(namespace)
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
}

async fn list(pool: &PgPool, query: &FlowQuery) -> Result<Vec<FlowRecord>, Failure> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM (SELECT DISTINCT ON (namespace, id) {COLUMNS} FROM flows"
    ));
    if let Some(namespace) = &query.namespace {
        sql.push(" WHERE ");
        crate::push_namespace_tree(&mut sql, "namespace", namespace);
    }
    sql.push(" ORDER BY namespace, id, revision DESC) AS latest WHERE NOT deleted ORDER BY namespace, id");
    let rows = sql.build().fetch_all(pool).await?;
    let latest = rows.iter().map(record).collect::<Result<Vec<_>, _>>()?;
    // The text filter is applied here, so it folds case exactly as every other backend does.
    Ok(latest
        .into_iter()
        .filter(|record| query.matches(record))
        .collect())
}

async fn heads(pool: &PgPool) -> Result<Vec<FlowHead>, Failure> {
    let rows = sqlx::query(
        "SELECT namespace, id, revision FROM (SELECT DISTINCT ON (namespace, id) namespace, id, \
         revision, deleted FROM flows ORDER BY namespace, id, revision DESC) AS latest \
         WHERE NOT deleted ORDER BY namespace, id",
    )
    .fetch_all(pool)
    .await?;
    let heads = rows
        .iter()
        .map(|row| {
            Ok(FlowHead {
                namespace: row.try_get(0)?,
                id: row.try_get(1)?,
                revision: u32::try_from(row.try_get::<i32, _>(2)?).unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(heads)
}

async fn delete(pool: &PgPool, namespace: &str, id: &str, now: Timestamp) -> Result<bool, Failure> {
    let deleted = sqlx::query(
        "UPDATE flows SET deleted = TRUE, updated = $3 \
         WHERE namespace = $1 AND id = $2 AND NOT deleted AND revision = \
         (SELECT MAX(revision) FROM flows WHERE namespace = $1 AND id = $2)",
    )
    .bind(namespace)
    .bind(id)
    .bind(micros(now))
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

impl FlowRepository for PostgresStore {
    fn save(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<FlowRecord, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move { save(&self.pool, &namespace, &id, source, now).await })
    }

    fn get(
        &self,
        namespace: &str,
        id: &str,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Option<FlowRecord>, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move { answer(get(&self.pool, &namespace, &id, revision).await) })
    }

    fn revisions(
        &self,
        namespace: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move { answer(revisions(&self.pool, &namespace, &id).await) })
    }

    fn list(&self, query: &FlowQuery) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let query = query.clone();
        Box::pin(async move { answer(list(&self.pool, &query).await) })
    }

    fn heads(&self) -> BoxFuture<'_, Result<Vec<FlowHead>, Error>> {
        Box::pin(async move { answer(heads(&self.pool).await) })
    }

    fn delete(
        &self,
        namespace: &str,
        id: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<bool, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move { answer(delete(&self.pool, &namespace, &id, now).await) })
    }
}
