//! Flows with revisions: one row per revision; the latest row of a deleted flow is marked.

use jiff::Timestamp;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::{Error, FlowQuery, FlowRecord, FlowRepository};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::SqliteStore;

const COLUMNS: &str = "namespace, id, revision, source, updated, deleted";

fn record(row: &Row<'_>) -> rusqlite::Result<FlowRecord> {
    Ok(FlowRecord {
        namespace: row.get(0)?,
        id: row.get(1)?,
        revision: row.get(2)?,
        source: row.get(3)?,
        updated: Timestamp::from_millisecond(row.get(4)?).unwrap_or(Timestamp::UNIX_EPOCH),
        deleted: row.get(5)?,
    })
}

fn latest(
    connection: &Connection,
    namespace: &str,
    id: &str,
) -> rusqlite::Result<Option<FlowRecord>> {
    connection
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM flows WHERE namespace = ?1 AND id = ?2 ORDER BY revision DESC LIMIT 1"
        ))?
        .query_row(params![namespace, id], record)
        .optional()
}

impl FlowRepository for SqliteStore {
    fn save(
        &self,
        namespace: &str,
        id: &str,
        source: String,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<FlowRecord, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(self.writer.write(move |connection| {
            let previous = latest(connection, &namespace, &id)?;
            if let Some(previous) = previous
                .as_ref()
                .filter(|p| !p.deleted && p.source == source)
            {
                return Ok(previous.clone());
            }
            let record = FlowRecord {
                revision: previous.map_or(1, |previous| previous.revision + 1),
                namespace,
                id,
                source,
                updated: now,
                deleted: false,
            };
            connection
                .prepare_cached(&format!(
                    "INSERT INTO flows ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, 0)"
                ))?
                .execute(params![
                    record.namespace,
                    record.id,
                    record.revision,
                    record.source,
                    now.as_millisecond()
                ])?;
            Ok(record)
        }))
    }

    fn get(
        &self,
        namespace: &str,
        id: &str,
        revision: Option<u32>,
    ) -> BoxFuture<'_, Result<Option<FlowRecord>, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(self.read(move |connection| {
            let Some(last) = latest(connection, &namespace, &id)?.filter(|last| !last.deleted) else {
                return Ok(None);
            };
            match revision {
                None => Ok(Some(last)),
                Some(revision) => connection
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM flows WHERE namespace = ?1 AND id = ?2 AND revision = ?3"
                    ))?
                    .query_row(params![namespace, id, revision], record)
                    .optional(),
            }
        }))
    }

    fn revisions(
        &self,
        namespace: &str,
        id: &str,
    ) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(self.read(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM flows WHERE namespace = ?1 AND id = ?2 ORDER BY revision"
                ))?
                .query_map(params![namespace, id], record)?
                .collect()
        }))
    }

    fn list(&self, query: &FlowQuery) -> BoxFuture<'_, Result<Vec<FlowRecord>, Error>> {
        let query = query.clone();
        Box::pin(self.read(move |connection| {
            let latest: Vec<FlowRecord> = connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM flows AS f WHERE revision = \
                     (SELECT MAX(revision) FROM flows WHERE namespace = f.namespace AND id = f.id) \
                     AND deleted = 0 ORDER BY namespace, id"
                ))?
                .query_map([], record)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(latest
                .into_iter()
                .filter(|record| query.matches(record))
                .collect())
        }))
    }

    fn delete(
        &self,
        namespace: &str,
        id: &str,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<bool, Error>> {
        let (namespace, id) = (namespace.to_string(), id.to_string());
        Box::pin(self.writer.write(move |connection| {
            let Some(last) = latest(connection, &namespace, &id)?.filter(|last| !last.deleted) else {
                return Ok(false);
            };
            connection
                .prepare_cached(
                    "UPDATE flows SET deleted = 1, updated = ?4 WHERE namespace = ?1 AND id = ?2 AND revision = ?3",
                )?
                .execute(params![namespace, id, last.revision, now.as_millisecond()])?;
            Ok(true)
        }))
    }
}
