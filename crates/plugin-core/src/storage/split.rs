//! Split: splits a file into several, by size, count or rows.

use peregrine_model::Property;
use peregrine_plugin_api::{BoxFuture, RunContext, RunnableTask, TaskError, TaskOutput};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runnable;

/// Splits a file into several files; set one of `bytes`, `partitions` or `rows`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SplitSpec {
    /// The `kestra://` URI of the file.
    pub from: String,
    /// The maximum size of each file, e.g. "10MB".
    pub bytes: Option<String>,
    /// The number of files to produce.
    pub partitions: Option<Property<i32>>,
    /// The number of lines per file.
    pub rows: Option<Property<i32>>,
    /// The line separator; "\n" by default.
    pub separator: Option<String>,
}
runnable!(
    SplitSpec,
    "storage.Split",
    "io.kestra.core.tasks.storages.Split"
);

impl RunnableTask for SplitSpec {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>> {
        Box::pin(async move {
            let from = context.render(&self.from)?;
            let separator = match &self.separator {
                Some(template) => context.render(template)?,
                None => "\n".to_string(),
            };
            let storage = context.storage();
            let content = storage.get_file(&from).await?;
            let rows = lines(&content);
            let separator = separator.as_bytes();
            let chunks = if let Some(bytes) = &self.bytes {
                let limit = parse_size(&context.render(bytes)?)?;
                chunk(&rows, separator, |size, _| size >= limit)
            } else if let Some(partitions) = &self.partitions {
                let count = context.render_property("partitions", partitions)?;
                let count = usize::try_from(count).ok().filter(|count| *count > 0);
                partition(
                    &rows,
                    separator,
                    count.ok_or_else(|| positive("partitions"))?,
                )
            } else if let Some(rows_per_file) = &self.rows {
                let limit = context.render_property("rows", rows_per_file)?;
                let limit = usize::try_from(limit).ok().filter(|limit| *limit > 0);
                let limit = limit.ok_or_else(|| positive("rows"))?;
                chunk(&rows, separator, |_, count| count >= limit)
            } else {
                return Err(TaskError::Failed(
                    "set one of `bytes`, `partitions` or `rows` to split a file".into(),
                ));
            };
            let extension = extension_of(&from);
            let mut uris = Vec::with_capacity(chunks.len());
            for chunk in chunks {
                uris.push(Value::String(
                    storage.put_temp_file(chunk, extension).await?,
                ));
            }
            let mut outputs = Map::new();
            outputs.insert("uris".into(), Value::Array(uris));
            Ok(TaskOutput::success(outputs))
        })
    }
}

fn positive(property: &str) -> TaskError {
    TaskError::Property {
        property: property.into(),
        message: "must be a positive number".into(),
    }
}

/// The extension of the source file's name (`.csv`), else `.tmp`.
fn extension_of(uri: &str) -> &str {
    let name = uri.rsplit('/').next().unwrap_or(uri);
    name.rfind('.')
        .map_or(super::DEFAULT_EXTENSION, |dot| &name[dot..])
}

/// The lines of a text, as Java's `BufferedReader.readLine` reads them: ended by `\n`, `\r` or
/// `\r\n`; a last line without an end counts, an empty tail does not.
fn lines(content: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index < content.len() {
        match content[index] {
            b'\n' => {
                lines.push(&content[start..index]);
                start = index + 1;
            }
            b'\r' => {
                lines.push(&content[start..index]);
                if content.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    if start < content.len() {
        lines.push(&content[start..]);
    }
    lines
}

/// Fills files in order, starting a new one before a row when `full(bytes, rows)` holds for the
/// current file (so a file may pass a byte limit by one row, as in Kestra).
fn chunk(rows: &[&[u8]], separator: &[u8], full: impl Fn(u64, usize) -> bool) -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = Vec::new();
    let mut rows_in_file = 0;
    for row in rows {
        let start_new = match files.last() {
            None => true,
            Some(file) => full(file.len() as u64, rows_in_file),
        };
        if start_new {
            files.push(Vec::new());
            rows_in_file = 0;
        }
        if let Some(file) = files.last_mut() {
            file.extend_from_slice(row);
            file.extend_from_slice(separator);
            rows_in_file += 1;
        }
    }
    files
}

/// Deals rows round-robin into `count` files; empty files are dropped.
fn partition(rows: &[&[u8]], separator: &[u8], count: usize) -> Vec<Vec<u8>> {
    let mut files = vec![Vec::new(); count];
    for (index, row) in rows.iter().enumerate() {
        let file = &mut files[index % count];
        file.extend_from_slice(row);
        file.extend_from_slice(separator);
    }
    files.retain(|file| !file.is_empty());
    files
}

/// A size like Micronaut's readable bytes: `10MB`, `200kb`, `1GB` (powers of 1024) or a number.
fn parse_size(text: &str) -> Result<u64, TaskError> {
    let upper = text.trim().to_ascii_uppercase();
    let (number, unit) = match upper.len().checked_sub(2).map(|at| upper.split_at(at)) {
        Some((number, "KB")) => (number, 1024),
        Some((number, "MB")) => (number, 1024 * 1024),
        Some((number, "GB")) => (number, 1024 * 1024 * 1024),
        _ => (upper.as_str(), 1),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|number| number.checked_mul(unit))
        .filter(|size| *size > 0)
        .ok_or_else(|| TaskError::Property {
            property: "bytes".into(),
            message: format!(
                "invalid size '{text}' (expected e.g. 10MB, 200KB or a number of bytes)"
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_like_java() {
        assert_eq!(lines(b"a\nb\r\nc\rd"), [&b"a"[..], b"b", b"c", b"d"]);
        assert_eq!(lines(b"a\n\nb\n"), [&b"a"[..], b"", b"b"]);
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn splits_by_rows_bytes_and_partitions() {
        let rows = lines(b"1\n2\n3\n4\n5\n");
        assert_eq!(
            chunk(&rows, b"\n", |_, count| count >= 2),
            [&b"1\n2\n"[..], b"3\n4\n", b"5\n"]
        );
        assert_eq!(
            chunk(&rows, b"\n", |size, _| size >= 3),
            [&b"1\n2\n"[..], b"3\n4\n", b"5\n"]
        );
        assert_eq!(partition(&rows, b"\n", 2), [&b"1\n3\n5\n"[..], b"2\n4\n"]);
        assert_eq!(partition(&rows, b"\n", 9).len(), 5);
        assert_eq!(parse_size("10MB").ok(), Some(10 * 1024 * 1024));
        assert_eq!(parse_size("200kb").ok(), Some(200 * 1024));
        assert_eq!(parse_size("42").ok(), Some(42));
        assert!(parse_size("ten").is_err());
        assert_eq!(extension_of("kestra:///a/b/file.csv"), ".csv");
        assert_eq!(extension_of("kestra:///a.b/file"), ".tmp");
    }
}
