//! Trigger states: one row per trigger. A conditional write is one statement whose outcome the
//! server decides under the row's lock: an insert the primary key refuses when a state exists,
//! or an update that matches only the revision read. Of racing writers exactly one changes a
//! row; the others see no row affected.

use jiff::Timestamp;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::Error;
use peregrine_ports::triggers::{TriggerKey, TriggerQuery, TriggerState, TriggerStore};
use sqlx::mysql::MySqlRow;
use sqlx::{AssertSqlSafe, Row};

use crate::batch::{self, Bound, bind_all};
use crate::logs::micros;
use crate::{MysqlStore, backend, like_prefix};

const COLUMNS: &str =
    "namespace, flow_id, trigger_id, revision, date, next_date, disabled, execution_id, updated";

fn instant(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn state(row: &MySqlRow) -> Result<TriggerState, sqlx::Error> {
    Ok(TriggerState {
        key: TriggerKey {
            namespace: row.try_get(0)?,
            flow_id: row.try_get(1)?,
            trigger_id: row.try_get(2)?,
        },
        revision: u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or_default(),
        date: instant(row.try_get(4)?),
        next_execution_date: row.try_get::<Option<i64>, _>(5)?.map(instant),
        disabled: row.try_get(6)?,
        execution_id: row.try_get(7)?,
        updated_date: instant(row.try_get(8)?),
    })
}

fn revision(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

impl MysqlStore {
    /// Stores a trigger state that does not exist yet; false when one does.
    async fn create_trigger(&self, state: &TriggerState) -> Result<bool, sqlx::Error> {
        let sql = format!("INSERT INTO triggers ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        let inserted = sqlx::query(AssertSqlSafe(sql))
            .bind(&state.key.namespace)
            .bind(&state.key.flow_id)
            .bind(&state.key.trigger_id)
            .bind(revision(state.revision))
            .bind(micros(state.date))
            .bind(state.next_execution_date.map(micros))
            .bind(state.disabled)
            .bind(&state.execution_id)
            .bind(micros(state.updated_date))
            .execute(&self.pool)
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(error) if batch::is_duplicate(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Replaces the stored state when it is still at revision `expected`; false otherwise.
    async fn replace_trigger(
        &self,
        state: &TriggerState,
        expected: u64,
    ) -> Result<bool, sqlx::Error> {
        let updated = sqlx::query(
            "UPDATE triggers SET revision = ?, date = ?, next_date = ?, disabled = ?, \
             execution_id = ?, updated = ? \
             WHERE namespace = ? AND flow_id = ? AND trigger_id = ? AND revision = ?",
        )
        .bind(revision(state.revision))
        .bind(micros(state.date))
        .bind(state.next_execution_date.map(micros))
        .bind(state.disabled)
        .bind(&state.execution_id)
        .bind(micros(state.updated_date))
        .bind(&state.key.namespace)
        .bind(&state.key.flow_id)
        .bind(&state.key.trigger_id)
        .bind(revision(expected))
        .execute(&self.pool)
        .await?;
        // The revision always changes, so a matched row is a changed row.
        Ok(updated.rows_affected() == 1)
    }
}

impl TriggerStore for MysqlStore {
    fn get(&self, key: &TriggerKey) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        let key = key.clone();
        Box::pin(async move {
            let sql = format!(
                "SELECT {COLUMNS} FROM triggers \
                 WHERE namespace = ? AND flow_id = ? AND trigger_id = ?"
            );
            sqlx::query(AssertSqlSafe(sql))
                .bind(&key.namespace)
                .bind(&key.flow_id)
                .bind(&key.trigger_id)
                .fetch_optional(&self.pool)
                .await
                .and_then(|row| row.as_ref().map(state).transpose())
                .map_err(backend)
        })
    }

    fn list(&self, query: &TriggerQuery) -> BoxFuture<'_, Result<Vec<TriggerState>, Error>> {
        let query = query.clone();
        Box::pin(async move {
            let mut clauses = Vec::new();
            let mut values = Vec::new();
            if let Some(namespace) = &query.namespace {
                clauses.push("(namespace = ? OR namespace LIKE ? ESCAPE '|')");
                values.push(Bound::Text(namespace.clone()));
                values.push(Bound::Text(like_prefix(&format!("{namespace}."))));
            }
            if let Some(flow_id) = &query.flow_id {
                clauses.push("flow_id = ?");
                values.push(Bound::Text(flow_id.clone()));
            }
            let clause = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            let sql = format!(
                "SELECT {COLUMNS} FROM triggers {clause} ORDER BY namespace, flow_id, trigger_id"
            );
            bind_all(sqlx::query(AssertSqlSafe(sql)), &values)
                .fetch_all(&self.pool)
                .await
                .and_then(|rows| rows.iter().map(state).collect())
                .map_err(backend)
        })
    }

    fn put(
        &self,
        mut state: TriggerState,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        Box::pin(async move {
            state.revision = expected.unwrap_or_default() + 1;
            let written = match expected {
                None => self.create_trigger(&state).await,
                Some(expected) => self.replace_trigger(&state, expected).await,
            };
            Ok(written.map_err(backend)?.then_some(state))
        })
    }

    fn delete(&self, key: &TriggerKey) -> BoxFuture<'_, Result<bool, Error>> {
        let key = key.clone();
        Box::pin(async move {
            let deleted = sqlx::query(
                "DELETE FROM triggers WHERE namespace = ? AND flow_id = ? AND trigger_id = ?",
            )
            .bind(&key.namespace)
            .bind(&key.flow_id)
            .bind(&key.trigger_id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            Ok(deleted.rows_affected() > 0)
        })
    }
}
