//! The executor's store and the execution repository over the tables `executions`,
//! `task_runs`, `frames` and `outbox`.

use peregrine_model::execution::Execution;
use peregrine_ports::future::BoxFuture;
use peregrine_ports::partition::Partitions;
use peregrine_ports::repository::{
    Error, ExecutionQuery, ExecutionRepository, Page, PurgeQuery, PurgedExecution,
};
use peregrine_ports::store::{Commit, ExecutionStore, OutboxRow, StoredExecution};
use sqlx::{AssertSqlSafe, Row};

use crate::batch::{Bound, bind_all, marks};
use crate::load::{Parts, Which, fetch};
use crate::{MysqlStore, backend, from_text, like_prefix};

impl ExecutionStore for MysqlStore {
    fn commit(&self, commit: std::sync::Arc<Commit>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            crate::write::commit(
                &self.pool,
                &commit,
                self.fence.get().as_ref(),
                self.partition_fence().as_ref(),
                self.partitions,
            )
            .await?;
            self.polls
                .notify_keys(commit.put.iter().map(|row| row.key.as_str()));
            Ok(())
        })
    }

    fn load(&self, execution_id: &str) -> BoxFuture<'_, Result<Option<StoredExecution>, Error>> {
        let id = execution_id.to_string();
        Box::pin(async move {
            let found = fetch(&self.pool, Which::One(&id), Parts::Stored).await?;
            Ok(found.into_iter().next())
        })
    }

    fn unfinished<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<StoredExecution>, Error>> {
        let which = match partitions {
            Partitions::All => Which::Unfinished(None),
            Partitions::Only(held) => Which::Unfinished(Some(held)),
        };
        Box::pin(fetch(&self.pool, which, Parts::Stored))
    }

    fn outbox<'a>(
        &'a self,
        partitions: &'a Partitions,
    ) -> BoxFuture<'a, Result<Vec<OutboxRow>, Error>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT execution_id, `key`, payload FROM outbox WHERE {} \
                 ORDER BY execution_id, `key`",
                crate::partitions::condition(partitions)
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
            rows.iter()
                .map(|row| {
                    let payload: String = row.try_get(2).map_err(backend)?;
                    Ok(OutboxRow {
                        execution_id: row.try_get(0).map_err(backend)?,
                        key: row.try_get(1).map_err(backend)?,
                        payload: from_text("outbox", &payload)?,
                    })
                })
                .collect()
        })
    }

    fn partition_count(&self) -> u16 {
        self.partitions
    }
}

/// The WHERE clause and values of a search.
fn filters(query: &ExecutionQuery) -> (String, Vec<Bound>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(namespace) = &query.namespace {
        clauses.push("(namespace = ? OR namespace LIKE ? ESCAPE '|')".to_string());
        values.push(Bound::Text(namespace.clone()));
        values.push(Bound::Text(like_prefix(&format!("{namespace}."))));
    }
    if let Some(flow_id) = &query.flow_id {
        clauses.push("flow_id = ?".to_string());
        values.push(Bound::Text(flow_id.clone()));
    }
    if !query.states.is_empty() {
        clauses.push(format!("state IN ({})", marks(query.states.len())));
        for state in &query.states {
            let name = serde_json::to_value(state)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            values.push(Bound::Text(name));
        }
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (clause, values)
}

/// Removes the executions a purge picks (ended, matching, oldest started first) with their
/// task runs, frames, outbox rows and, when asked, their log lines, in one transaction. The
/// rows picked are read locked (at read committed, only the rows matching), so a commit
/// changing one meanwhile either waits for the purge or makes it pass over that execution.
async fn purge(
    pool: &sqlx::MySqlPool,
    query: &PurgeQuery,
    limit: usize,
    logs: bool,
) -> Result<Vec<PurgedExecution>, sqlx::Error> {
    let (clause, mut values) = filters(&ExecutionQuery {
        namespace: query.namespace.clone(),
        flow_id: query.flow_id.clone(),
        states: query.states.clone(),
        ..ExecutionQuery::default()
    });
    let mut clauses = vec![if clause.is_empty() {
        "WHERE ended = TRUE".to_string()
    } else {
        format!("{clause} AND ended = TRUE")
    }];
    clauses.push("started <= ?".into());
    values.push(Bound::Number(query.started_before.as_millisecond()));
    if let Some(after) = query.started_after {
        clauses.push("started >= ?".into());
        values.push(Bound::Number(after.as_millisecond()));
    }
    values.push(Bound::Number(i64::try_from(limit).unwrap_or(i64::MAX)));
    let select = format!(
        "SELECT id, namespace, flow_id FROM executions {} ORDER BY started, id LIMIT ? FOR UPDATE",
        clauses.join(" AND ")
    );
    let mut transaction = pool.begin().await?;
    let purged: Vec<PurgedExecution> = bind_all(sqlx::query(AssertSqlSafe(select)), &values)
        .fetch_all(&mut *transaction)
        .await?
        .iter()
        .map(|row| {
            Ok(PurgedExecution {
                id: row.try_get(0)?,
                namespace: row.try_get(1)?,
                flow_id: row.try_get(2)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let mut tables = vec!["task_runs", "frames", "outbox"];
    if logs {
        tables.push("logs");
    }
    tables.push("executions");
    for chunk in purged.chunks(500) {
        for table in &tables {
            let column = if *table == "executions" {
                "id"
            } else {
                "execution_id"
            };
            let sql = format!(
                "DELETE FROM {table} WHERE {column} IN ({})",
                marks(chunk.len())
            );
            let mut delete = sqlx::query(AssertSqlSafe(sql));
            for execution in chunk {
                delete = delete.bind(&execution.id);
            }
            delete.execute(&mut *transaction).await?;
        }
    }
    transaction.commit().await?;
    Ok(purged)
}

impl ExecutionRepository for MysqlStore {
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<Execution>, Error>> {
        let id = id.to_string();
        Box::pin(async move {
            let found = fetch(&self.pool, Which::One(&id), Parts::Execution).await?;
            Ok(found.into_iter().next().map(|stored| stored.execution))
        })
    }

    fn search(&self, query: &ExecutionQuery) -> BoxFuture<'_, Result<Page<Execution>, Error>> {
        let query = query.clone();
        Box::pin(async move {
            let (clause, values) = filters(&query);
            let count = format!("SELECT COUNT(*) FROM executions {clause}");
            let total: i64 = bind_all(sqlx::query(AssertSqlSafe(count)), &values)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get(0))
                .map_err(backend)?;
            let size = query.size.max(1);
            let offset = query.page.saturating_sub(1).saturating_mul(size);
            let page = format!(
                "SELECT id FROM executions {clause} ORDER BY started DESC, id LIMIT ? OFFSET ?"
            );
            let ids: Vec<String> = bind_all(sqlx::query(AssertSqlSafe(page)), &values)
                .bind(i64::try_from(size).unwrap_or(i64::MAX))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await
                .and_then(|rows| rows.iter().map(|row| row.try_get(0)).collect())
                .map_err(backend)?;
            let mut found = fetch(&self.pool, Which::Some(&ids), Parts::Execution).await?;
            // Back in the order of the page (fetch sorts by id).
            let mut results = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(index) = found.iter().position(|stored| &stored.execution.id == id) {
                    results.push(found.swap_remove(index).execution);
                }
            }
            Ok(Page {
                results,
                total: usize::try_from(total).unwrap_or_default(),
            })
        })
    }

    fn delete(&self, id: &str) -> BoxFuture<'_, Result<bool, Error>> {
        let id = id.to_string();
        Box::pin(async move {
            let mut transaction = self.pool.begin().await.map_err(backend)?;
            for table in ["task_runs", "frames", "outbox"] {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE execution_id = ?"
                )))
                .bind(&id)
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
            }
            let deleted = sqlx::query("DELETE FROM executions WHERE id = ?")
                .bind(&id)
                .execute(&mut *transaction)
                .await
                .map_err(backend)?;
            transaction.commit().await.map_err(backend)?;
            Ok(deleted.rows_affected() > 0)
        })
    }

    fn purge(
        &self,
        query: &PurgeQuery,
        limit: usize,
        logs: bool,
    ) -> BoxFuture<'_, Result<Vec<PurgedExecution>, Error>> {
        let query = query.clone();
        Box::pin(async move {
            purge(&self.pool, &query, limit, logs)
                .await
                .map_err(backend)
        })
    }
}
