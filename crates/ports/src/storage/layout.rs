//! Kestra's internal storage layout (`StorageContext`): where execution, input, namespace and
//! key-value files live. Namespaces become directories (`company.team` -> `/company/team`); flow,
//! task and trigger ids are slugified; execution and task run ids are kept as they are.

use super::{Error, StoragePath};

/// `company.team` -> `company/team`; refuses anything but dot-separated `[A-Za-z0-9_-]` words,
/// so a namespace always maps to its own directory.
pub fn namespace_as_path(namespace: &str) -> Result<String, Error> {
    let valid = namespace.split('.').all(|word| {
        !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if !valid {
        return Err(Error::InvalidPath {
            path: namespace.to_string(),
            reason: "a namespace is dot-separated words of letters, digits, '_' and '-'",
        });
    }
    Ok(namespace.replace('.', "/"))
}

/// Kestra's `Slugify.of`: whitespace to `-`, only `[A-Za-z0-9_-]` kept, `_` to `-`, dashes
/// collapsed and trimmed, lower case. (Kestra also strips accents; ids are ASCII, so letters
/// outside ASCII are simply dropped here.)
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for character in text.chars() {
        let mapped = match character {
            ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '_' | '-' => '-',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        if mapped == '-' && slug.ends_with('-') {
            continue;
        }
        slug.push(mapped);
    }
    slug.trim_matches('-').to_string()
}

/// `/{namespace}/_files`: the namespace files.
pub fn namespace_files_prefix(namespace: &str) -> Result<StoragePath, Error> {
    StoragePath::new(format!("/{}/_files", namespace_as_path(namespace)?))
}

/// `/{namespace}/_kv`: the key-value store of a namespace.
pub fn kv_prefix(namespace: &str) -> Result<StoragePath, Error> {
    StoragePath::new(format!("/{}/_kv", namespace_as_path(namespace)?))
}

/// `/{namespace}/{flow}`: everything stored for a flow.
pub fn flow_prefix(namespace: &str, flow_id: &str) -> Result<StoragePath, Error> {
    StoragePath::new(format!(
        "/{}/{}",
        namespace_as_path(namespace)?,
        slugify(flow_id)
    ))
}

/// The storage scope of one execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageContext {
    pub namespace: String,
    pub flow_id: String,
    pub execution_id: String,
}

impl StorageContext {
    pub fn new(
        namespace: impl Into<String>,
        flow_id: impl Into<String>,
        execution_id: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            flow_id: flow_id.into(),
            execution_id: execution_id.into(),
        }
    }

    /// `/{ns}/{flow}/executions/{executionId}`: every file of the execution lies below.
    pub fn execution_prefix(&self) -> Result<StoragePath, Error> {
        flow_prefix(&self.namespace, &self.flow_id)?
            .join(&format!("executions/{}", self.execution_id))
    }

    /// `.../executions/{executionId}/tasks/{taskId}/{taskRunId}`: the files of one task run.
    pub fn task_prefix(&self, task_id: &str, task_run_id: &str) -> Result<StoragePath, Error> {
        self.execution_prefix()?
            .join(&format!("tasks/{}/{task_run_id}", slugify(task_id)))
    }

    /// `.../executions/{executionId}/inputs/{inputId}/{fileName}`: an uploaded FILE input.
    pub fn input_file(&self, input_id: &str, file_name: &str) -> Result<StoragePath, Error> {
        self.execution_prefix()?
            .join(&format!("inputs/{input_id}/{file_name}"))
    }

    /// `.../executions/{executionId}/trigger/{triggerId}`: the files of the trigger.
    pub fn trigger_prefix(&self, trigger_id: &str) -> Result<StoragePath, Error> {
        self.execution_prefix()?
            .join(&format!("trigger/{}", slugify(trigger_id)))
    }

    /// True when `path` belongs to this execution.
    pub fn owns(&self, path: &StoragePath) -> bool {
        self.execution_prefix()
            .map(|prefix| path.is_under(&prefix))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugifies_like_kestra() {
        assert_eq!(slugify("my_flow"), "my-flow");
        assert_eq!(slugify("Hello World"), "hello-world");
        assert_eq!(slugify("__a..b--c__"), "ab-c");
        assert_eq!(slugify("task-1"), "task-1");
    }

    #[test]
    fn lays_out_execution_files() {
        let context = StorageContext::new("company.team", "My_Flow", "5wjdX8pDpXJDeVEF3hYJmd");
        let task = context.task_prefix("write_it", "run1").expect("valid");
        assert_eq!(
            task.uri(),
            "kestra:///company/team/my-flow/executions/5wjdX8pDpXJDeVEF3hYJmd/tasks/write-it/run1"
        );
        let input = context.input_file("file", "data.csv").expect("valid");
        assert_eq!(
            input.as_str(),
            "/company/team/my-flow/executions/5wjdX8pDpXJDeVEF3hYJmd/inputs/file/data.csv"
        );
        assert!(context.owns(&input));
        let other = StorageContext::new("company.team", "My_Flow", "other");
        assert!(!other.owns(&input));
        assert!(context.input_file("file", "../../x").is_err());
        for bad in ["", "a..b", ".a", "a/b", "a.b."] {
            assert!(kv_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(
            kv_prefix("company.team").expect("valid").as_str(),
            "/company/team/_kv"
        );
        assert_eq!(
            namespace_files_prefix("company").expect("valid").as_str(),
            "/company/_files"
        );
    }
}
