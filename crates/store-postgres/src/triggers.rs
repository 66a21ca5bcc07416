//! Trigger states: one row per trigger. A conditional write is one statement whose condition
//! the server checks on the row it writes: creating is an insert that does nothing when a
//! state is there; changing is an update of the row still at the revision read. Racing
//! writers, in one process or many, find at most one row written: exactly one wins.

use peregrine_ports::future::BoxFuture;
use peregrine_ports::repository::Error;
use peregrine_ports::triggers::{TriggerKey, TriggerQuery, TriggerState, TriggerStore};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{QueryBuilder, Row};

use crate::{Failure, PostgresStore, answer, instant, micros};

const COLUMNS: &str =
    "namespace, flow_id, trigger_id, revision, date, next_date, disabled, execution_id, updated";

fn state(row: &PgRow) -> Result<TriggerState, sqlx::Error> {
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

fn revision_number(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

async fn get(pool: &PgPool, key: &TriggerKey) -> Result<Option<TriggerState>, Failure> {
    let row = sqlx::query(
        "SELECT namespace, flow_id, trigger_id, revision, date, next_date, disabled, \
         execution_id, updated FROM triggers \
         WHERE namespace = $1 AND flow_id = $2 AND trigger_id = $3",
    )
    .bind(&key.namespace)
    .bind(&key.flow_id)
    .bind(&key.trigger_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(state).transpose()?)
}

async fn list(pool: &PgPool, query: &TriggerQuery) -> Result<Vec<TriggerState>, Failure> {
    let mut sql = QueryBuilder::new(format!("SELECT {COLUMNS} FROM triggers WHERE TRUE"));
    if let Some(namespace) = &query.namespace {
        sql.push(" AND ");
        crate::push_namespace_tree(&mut sql, "namespace", namespace);
    }
    if let Some(flow_id) = &query.flow_id {
        sql.push(" AND flow_id = ").push_bind(flow_id.clone());
    }
    sql.push(" ORDER BY namespace, flow_id, trigger_id");
    let rows = sql.build().fetch_all(pool).await?;
    Ok(rows.iter().map(state).collect::<Result<_, _>>()?)
}

async fn put(
    pool: &PgPool,
    mut state: TriggerState,
    expected: Option<u64>,
) -> Result<Option<TriggerState>, Failure> {
    state.revision = expected.unwrap_or_default() + 1;
    let sql = match expected {
        None => {
            "INSERT INTO triggers (namespace, flow_id, trigger_id, revision, date, next_date, \
             disabled, execution_id, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (namespace, flow_id, trigger_id) DO NOTHING"
        }
        Some(_) => {
            "UPDATE triggers SET revision = $4, date = $5, next_date = $6, disabled = $7, \
             execution_id = $8, updated = $9 \
             WHERE namespace = $1 AND flow_id = $2 AND trigger_id = $3 AND revision = $10"
        }
    };
    let written = sqlx::query(sql)
        .bind(&state.key.namespace)
        .bind(&state.key.flow_id)
        .bind(&state.key.trigger_id)
        .bind(revision_number(state.revision))
        .bind(micros(state.date))
        .bind(state.next_execution_date.map(micros))
        .bind(state.disabled)
        .bind(&state.execution_id)
        .bind(micros(state.updated_date));
    let written = match expected {
        None => written,
        Some(expected) => written.bind(revision_number(expected)),
    };
    let written = written.execute(pool).await?;
    Ok((written.rows_affected() == 1).then_some(state))
}

async fn delete(pool: &PgPool, key: &TriggerKey) -> Result<bool, Failure> {
    let deleted = sqlx::query(
        "DELETE FROM triggers WHERE namespace = $1 AND flow_id = $2 AND trigger_id = $3",
    )
    .bind(&key.namespace)
    .bind(&key.flow_id)
    .bind(&key.trigger_id)
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected() > 0)
}

impl TriggerStore for PostgresStore {
    fn get(&self, key: &TriggerKey) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        let key = key.clone();
        Box::pin(async move { answer(get(&self.pool, &key).await) })
    }

    fn list(&self, query: &TriggerQuery) -> BoxFuture<'_, Result<Vec<TriggerState>, Error>> {
        let query = query.clone();
        Box::pin(async move { answer(list(&self.pool, &query).await) })
    }

    fn put(
        &self,
        state: TriggerState,
        expected: Option<u64>,
    ) -> BoxFuture<'_, Result<Option<TriggerState>, Error>> {
        Box::pin(async move { answer(put(&self.pool, state, expected).await) })
    }

    fn delete(&self, key: &TriggerKey) -> BoxFuture<'_, Result<bool, Error>> {
        let key = key.clone();
        Box::pin(async move { answer(delete(&self.pool, &key).await) })
    }
}
