//! Multi-row statements and the failures worth another attempt.

use std::future::Future;

use peregrine_ports::repository::Error;
use sqlx::MySql;
use sqlx::mysql::{MySqlArguments, MySqlDatabaseError};
use sqlx::query::Query;

/// At most this many rows go in one multi-row statement...
const MAX_ROWS: usize = 256;
/// ...and a statement is cut once its documents pass this size (the server refuses packets
/// over `max_allowed_packet`, 16 MiB by default on MariaDB).
const MAX_BYTES: usize = 4 << 20;

/// How many times a transaction chosen as a deadlock victim runs again.
pub(crate) const ATTEMPTS: usize = 8;

/// Splits `items` into runs that each fit one statement; `bytes` estimates an item's size.
pub(crate) fn runs<T>(items: &[T], bytes: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (index, item) in items.iter().enumerate() {
        let item_size = bytes(item);
        if index > start && (index - start >= MAX_ROWS || size + item_size > MAX_BYTES) {
            runs.push(&items[start..index]);
            start = index;
            size = 0;
        }
        size += item_size;
    }
    if start < items.len() {
        runs.push(&items[start..]);
    }
    runs
}

/// `?, ?, ?`: `count` placeholders.
pub(crate) fn marks(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// `(?, ?), (?, ?)`: `rows` tuples of `columns` placeholders.
pub(crate) fn tuples(rows: usize, columns: usize) -> String {
    let tuple = format!("({})", marks(columns));
    vec![tuple; rows].join(", ")
}

/// `clause OR clause ...`: `count` copies of `clause`, each in parentheses.
pub(crate) fn any_of(clause: &str, count: usize) -> String {
    vec![format!("({clause})"); count].join(" OR ")
}

/// A bound value of a search.
pub(crate) enum Bound {
    Text(String),
    Number(i64),
}

/// Binds `values` in order.
pub(crate) fn bind_all<'q>(
    mut query: Query<'q, MySql, MySqlArguments>,
    values: &'q [Bound],
) -> Query<'q, MySql, MySqlArguments> {
    for value in values {
        query = match value {
            Bound::Text(text) => query.bind(text),
            Bound::Number(number) => query.bind(*number),
        };
    }
    query
}

fn number(error: &sqlx::Error) -> Option<u16> {
    match error {
        sqlx::Error::Database(error) => error
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(MySqlDatabaseError::number),
        _ => None,
    }
}

/// A deadlock (1213) or a lock wait timeout (1205): the transaction is rolled back and may
/// run again.
pub(crate) fn is_retryable(error: &sqlx::Error) -> bool {
    matches!(number(error), Some(1213 | 1205))
}

/// A duplicate key (1062): another writer inserted the same row first.
pub(crate) fn is_duplicate(error: &sqlx::Error) -> bool {
    number(error) == Some(1062)
}

/// Runs `attempt` again while the server picks it as a deadlock victim (or its lock wait timed
/// out); any other outcome is returned, a failure as a port error.
pub(crate) async fn retried<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if is_retryable(&error) && tries < ATTEMPTS => tries += 1,
            result => return result.map_err(crate::backend),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cut_by_count_and_size() {
        let items: Vec<usize> = vec![1; 600];
        let lengths: Vec<usize> = runs(&items, |size| *size)
            .iter()
            .map(|run| run.len())
            .collect();
        assert_eq!(lengths, vec![256, 256, 88]);
        let big = vec![3 << 20, 3 << 20, 1];
        let lengths: Vec<usize> = runs(&big, |size| *size)
            .iter()
            .map(|run| run.len())
            .collect();
        assert_eq!(lengths, vec![1, 2]);
        assert!(runs(&Vec::<usize>::new(), |size| *size).is_empty());
    }

    #[test]
    fn placeholders() {
        assert_eq!(tuples(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(any_of("a = ?", 2), "(a = ?) OR (a = ?)");
    }
}
