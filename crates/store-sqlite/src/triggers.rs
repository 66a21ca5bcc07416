//! Trigger states: one row per trigger; a conditional write is a read and a write of that row
//! in one savepoint of the writer thread, so no other write comes between them.

use jiff::Timestamp;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::Error;
use peregrine_ports::triggers::{TriggerKey, TriggerQuery, TriggerState, TriggerStore};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::SqliteStore;

const COLUMNS: &str =
    "namespace, flow_id, trigger_id, revision, date, next_date, disabled, execution_id, updated";

/// Instants are stored in microseconds since the epoch.
fn micros(instant: Timestamp) -> i64 {
    instant.as_microsecond()
}

fn instant(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn state(row: &Row<'_>) -> rusqlite::Result<TriggerState> {
    Ok(TriggerState {
        key: TriggerKey {
            namespace: row.get(0)?,
            flow_id: row.get(1)?,
            trigger_id: row.get(2)?,
        },
        revision: u64::try_from(row.get::<_, i64>(3)?).unwrap_or_default(),
        date: instant(row.get(4)?),
        next_execution_date: row.get::<_, Option<i64>>(5)?.map(instant),
        disabled: row.get(6)?,
        execution_id: row.get(7)?,
        updated_date: instant(row.get(8)?),
    })
}

fn stored_revision(connection: &Connection, key: &TriggerKey) -> rusqlite::Result<Option<u64>> {
    connection
        .prepare_cached(
            "SELECT revision FROM triggers WHERE namespace = ?1 AND flow_id = ?2 AND trigger_id = ?3",
        )?
        .query_row(params![key.namespace, key.flow_id, key.trigger_id], |row| {
            row.get::<_, i64>(0)
        })
        .optional()
        .map(|revision| revision.map(|revision| u64::try_from(revision).unwrap_or_default()))
}

fn put(
    connection: &Connection,
    mut state: TriggerState,
    expected: Option<u64>,
) -> rusqlite::Result<Option<TriggerState>> {
    if stored_revision(connection, &state.key)? != expected {
        return Ok(None);
    }
    state.revision = expected.unwrap_or_default() + 1;
    connection
        .prepare_cached(&format!(
            "INSERT INTO triggers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (namespace, flow_id, trigger_id) DO UPDATE SET \
             revision = excluded.revision, date = excluded.date, next_date = excluded.next_date, \
             disabled = excluded.disabled, execution_id = excluded.execution_id, \
             updated = excluded.updated"
        ))?
        .execute(params![
            state.key.namespace,
            state.key.flow_id,
            state.key.trigger_id,
            i64::try_from(state.revision).unwrap_or(i64::MAX),
            micros(state.date),
            state.next_execution_date.map(micros),
            state.disabled,
            state.execution_id,
            micros(state.updated_date),
        ])?;
    Ok(Some(state))
}

impl TriggerStore for SqliteStore {
    fn get(&self, key: &TriggerKey) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        let key = key.clone();
        Box::pin(self.read(move |connection| {
            connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM triggers \
                     WHERE namespace = ?1 AND flow_id = ?2 AND trigger_id = ?3"
                ))?
                .query_row(params![key.namespace, key.flow_id, key.trigger_id], state)
                .optional()
        }))
    }

    fn list(&self, query: &TriggerQuery) -> BoxFuture<'_, Result<Vec<TriggerState>, Error>> {
        let query = query.clone();
        Box::pin(self.read(move |connection| {
            let all: Vec<TriggerState> = connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM triggers ORDER BY namespace, flow_id, trigger_id"
                ))?
                .query_map([], state)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(all
                .into_iter()
                .filter(|state| query.matches(&state.key))
                .collect())
        }))
    }

    fn put(
        &self,
        state: TriggerState,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        Box::pin(
            self.writer
                .write(move |connection| put(connection, state, expected)),
        )
    }

    fn delete(&self, key: &TriggerKey) -> BoxFuture<'_, Result<bool, Error>> {
        let key = key.clone();
        Box::pin(self.writer.write(move |connection| {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM triggers WHERE namespace = ?1 AND flow_id = ?2 AND trigger_id = ?3",
                )?
                .execute(params![key.namespace, key.flow_id, key.trigger_id])?;
            Ok(deleted > 0)
        }))
    }
}
