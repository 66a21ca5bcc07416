//! Flows with revisions: one row per revision; the latest row of a deleted flow is marked.
//!
//! A new revision is a plain insert of `(namespace, id, latest + 1)`: when two processes save
//! the same flow at once, the primary key lets one in and the other reads again.

use jiff::Timestamp;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, FlowHead, FlowQuery, FlowRecord, FlowRepository};
use sqlx::mysql::{MySqlPool, MySqlRow};
use sqlx::{AssertSqlSafe, Row};

use crate::batch::{self, Bound, bind_all};
use crate::{MysqlStore, backend, like_prefix};

const COLUMNS: &str = "namespace, id, revision, source, updated, deleted";

fn record(row: &MySqlRow) -> Result<FlowRecord, sqlx::Error> {
    Ok(FlowRecord {
        namespace: row.try_get(0)?,
        id: row.try_get(1)?,
        revision: u32::try_from(row.try_get::<i64, _>(2)?).unwrap_or_default(),
        source: row.try_get(3)?,
        updated: Timestamp::from_millisecond(row.try_get(4)?).unwrap_or(Timestamp::UNIX_EPOCH),
        deleted: row.try_get(5)?,
    })
}

async fn latest(
    pool: &MySqlPool,
    namespace: &str,
    id: &str,
) -> Result<Option<FlowRecord>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM flows WHERE namespace = ? AND id = ? \
         ORDER BY revision DESC LIMIT 1"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(namespace)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(record)
        .transpose()
}

/// One attempt at a save: `None` when another writer took the revision meanwhile.
async fn try_save(
    pool: &MySqlPool,
    namespace: &str,
    id: &str,
    source: &str,
    now: Timestamp,
) -> Result<Option<FlowRecord>, sqlx::Error> {
    let previous = latest(pool, namespace, id).await?;
    if let Some(previous) = previous
        .as_ref()
        .filter(|previous| !previous.deleted && previous.source == source)
    {
        return Ok(Some(previous.clone()));
    }
    let record = FlowRecord {
        revision: previous.map_or(1, |previous| previous.revision + 1),
        namespace: namespace.to_string(),
        id: id.to_string(),
        source: source.to_string(),
        updated: now,
        deleted: false,
    };
    let inserted = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO flows ({COLUMNS}) VALUES (?, ?, ?, ?, ?, FALSE)"
    )))
    .bind(&record.namespace)
    .bind(&record.id)
    .bind(i64::from(record.revision))
    .bind(&record.source)
    .bind(now.as_millisecond())
    .execute(pool)
    .await;
    match inserted {
        Ok(_) => Ok(Some(record)),
        Err(error) if batch::is_duplicate(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

impl FlowRepository for MysqlStore {
    fn save(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<FlowRecord, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move {
            for _ in 0..batch::ATTEMPTS {
                let saved = try_save(&self.pool, &namespace, &id, &source, now).await;
                if let Some(record) = saved.map_err(backend)? {
                    return Ok(record);
                }
            }
            Err(Error::Conflict(format!(
                "flow {namespace}.{id} changed {} times while it was saved",
                batch::ATTEMPTS
            )))
        })
    }

    fn get(
        &self,
        namespace: &str,
        id: &str,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Option<FlowRecord>, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move {
            let last = latest(&self.pool, &namespace, &id).await.map_err(backend)?;
            let Some(last) = last.filter(|last| !last.deleted) else {
                return Ok(None);
            };
            let Some(revision) = revision.filter(|revision| *revision != last.revision) else {
                return Ok(Some(last));
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM flows WHERE namespace = ? AND id = ? AND revision = ?"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(&namespace)
                .bind(&id)
                .bind(i64::from(revision))
                .fetch_optional(&self.pool)
                .await
                .and_then(|row| row.as_ref().map(record).transpose())
                .map_err(backend)
        })
    }

    fn revisions(
        &self,
        namespace: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move {
            let sql = format!(
                "SELECT {COLUMNS} FROM flows WHERE namespace = ? AND id = ? ORDER BY revision"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(&namespace)
                .bind(&id)
                .fetch_all(&self.pool)
                .await
                .and_then(|rows| rows.iter().map(record).collect())
                .map_err(backend)
        })
    }

    fn heads(&self) -> BoxFuture<'_, Result<Vec<FlowHead>, Error>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT f.namespace, f.id, f.revision FROM flows AS f \
                 JOIN (SELECT namespace, id, MAX(revision) AS revision \
                 FROM flows GROUP BY namespace, id) AS latest \
                 ON latest.namespace = f.namespace AND latest.id = f.id \
                 AND latest.revision = f.revision \
                 WHERE f.deleted = FALSE ORDER BY f.namespace, f.id",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            rows.iter()
                .map(|row| {
                    Ok(FlowHead {
                        namespace: row.try_get(0)?,
                        id: row.try_get(1)?,
                        revision: u32::try_from(row.try_get::<i64, _>(2)?).unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(backend)
        })
    }

    fn list(&self, query: &FlowQuery) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let query = query.clone();
        Box::pin(async move {
            let mut values = Vec::new();
            let mut tree = String::new();
            if let Some(namespace) = &query.namespace {
                tree = "AND (f.namespace = ? OR f.namespace LIKE ? ESCAPE '|')".to_string();
                values.push(Bound::Text(namespace.clone()));
                values.push(Bound::Text(like_prefix(&format!("{namespace}."))));
            }
            let sql = format!(
                "SELECT f.namespace, f.id, f.revision, f.source, f.updated, f.deleted \
                 FROM flows AS f JOIN (SELECT namespace, id, MAX(revision) AS revision \
                 FROM flows GROUP BY namespace, id) AS latest \
                 ON latest.namespace = f.namespace AND latest.id = f.id \
                 AND latest.revision = f.revision \
                 WHERE f.deleted = FALSE {tree} ORDER BY f.namespace, f.id"
            );
            let latest: Vec<FlowRecord> = bind_all(sqlx::query(AssertSqlSafe(sql)), &values)
                .fetch_all(&self.pool)
                .await
                .and_then(|rows| rows.iter().map(record).collect())
                .map_err(backend)?;
            Ok(latest
                .into_iter()
                .filter(|record| query.matches(record))
                .collect())
        })
    }

    fn delete(
        &self,
        namespace: &str,
        id: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<bool, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(async move {
            let last = latest(&self.pool, &namespace, &id).await.map_err(backend)?;
            let Some(last) = last.filter(|last| !last.deleted) else {
                return Ok(false);
            };
            let deleted = sqlx::query(
                "UPDATE flows SET deleted = TRUE, updated = ? \
                 WHERE namespace = ? AND id = ? AND revision = ? AND deleted = FALSE",
            )
            .bind(now.as_millisecond())
            .bind(&namespace)
            .bind(&id)
            .bind(i64::from(last.revision))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(deleted.rows_affected() > 0)
        })
    }
}
