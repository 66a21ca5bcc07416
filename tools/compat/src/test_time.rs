//! Values Kestra's tests make while they run, which expectations.yaml describes in words
//! (`<...>`): files put in internal storage, the id of another execution, a fresh name, a long
//! string. The runner makes each the way the test does, before it starts the execution.
//!
//! Files go under the new execution (`.../executions/{id}/inputs/{input}/{file}`), so the
//! execution gets an id chosen beforehand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use peregrine_model::state::State;
use peregrine_node::runtime::LocalRuntime;
use peregrine_ports::storage::{Storage, StorageContext};
use serde_json::{Map, Value};

/// What stands for the test's classpath resource `application-test.yml` (its content is not
/// checked, only that it is stored and read back).
const APPLICATION_TEST: &str = "kestra:\n  # Kestra's test configuration, as uploaded by its tests\n  encryption:\n    secret-key: test\n";

/// Where values are made: the runtime (other executions) and its internal storage.
pub struct Maker<'a> {
    pub local: &'a LocalRuntime,
    pub storage: &'a dyn Storage,
    pub timeout: Duration,
}

/// Values kept from one case of a flow to the next ("the same name as the previous run").
#[derive(Debug, Default)]
pub struct Memory {
    name: Option<String>,
}

/// A new execution's id and inputs, made.
#[derive(Debug, Default)]
pub struct Prepared {
    pub id: String,
    pub inputs: Map<String, Value>,
    /// The files stored for it: URI and content.
    pub uploads: Vec<(String, Vec<u8>)>,
    /// Other executions the test expects to end once this one has run (one it resumes).
    pub awaited: Vec<String>,
}

impl Prepared {
    /// Whether the execution must be created with the chosen id (files are stored under it).
    pub fn needs_id(&self) -> bool {
        !self.uploads.is_empty()
    }
}

/// One value described in words.
#[derive(Debug, PartialEq)]
enum Described {
    Text(String),
    File { name: String, bytes: Vec<u8> },
    PausedExecution { namespace: String, flow_id: String },
    FreshName,
    PreviousName,
}

/// An execution id made by the runner (unique in this process).
pub fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("compat{:016}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// True for a value made at test time: `<...>`.
pub fn is_described(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.starts_with('<') && text.ends_with('>'))
}

impl Maker<'_> {
    /// The inputs of a new execution of `namespace/flow_id`, with every described value made.
    pub async fn prepare(
        &self,
        namespace: &str,
        flow_id: &str,
        given: &Map<String, Value>,
        memory: &mut Memory,
    ) -> Result<Prepared, String> {
        let mut prepared = Prepared {
            id: new_id(),
            ..Prepared::default()
        };
        let context = StorageContext::new(namespace, flow_id, &prepared.id);
        for (input, value) in given {
            if !is_described(value) {
                prepared.inputs.insert(input.clone(), value.clone());
                continue;
            }
            let text = value.as_str().unwrap_or_default();
            let made = match describe(text) {
                Some(Described::Text(text)) => Value::String(text),
                Some(Described::File { name, bytes }) => {
                    let path = context
                        .input_file(input, &name)
                        .map_err(|error| error.to_string())?;
                    self.storage
                        .put(&path, bytes.clone())
                        .await
                        .map_err(|error| error.to_string())?;
                    prepared.uploads.push((path.uri(), bytes));
                    Value::String(path.uri())
                }
                Some(Described::PausedExecution { namespace, flow_id }) => {
                    let id = self.paused_execution(&namespace, &flow_id).await?;
                    prepared.awaited.push(id.clone());
                    Value::String(id)
                }
                Some(Described::FreshName) => {
                    let name = format!("name-{}", new_id());
                    memory.name = Some(name.clone());
                    Value::String(name)
                }
                Some(Described::PreviousName) => Value::String(
                    memory
                        .name
                        .clone()
                        .ok_or("no previous run made a name to reuse")?,
                ),
                None => return Err(format!("test-time value not supported: {text}")),
            };
            prepared.inputs.insert(input.clone(), made);
        }
        Ok(prepared)
    }

    /// Starts an execution of the flow and waits until it is paused.
    async fn paused_execution(&self, namespace: &str, flow_id: &str) -> Result<String, String> {
        let id = self
            .local
            .execute_unchecked(namespace, flow_id, Map::new())
            .map_err(|error| error.to_string())?;
        self.local
            .wait_for(&id, self.timeout, |execution| {
                execution.state.current == State::Paused
            })
            .await
            .map_err(|error| error.to_string())?;
        Ok(id)
    }
}

/// Reads a `<...>` description.
fn describe(text: &str) -> Option<Described> {
    let words = text.trim_start_matches('<').trim_end_matches('>');
    if let Some(captures) = regex::Regex::new(r"the letter '(.)' repeated (\d+) times")
        .ok()?
        .captures(words)
    {
        let count: usize = captures[2].parse().ok()?;
        return Some(Described::Text(captures[1].repeat(count)));
    }
    if words.contains("application-test.yml") {
        return Some(Described::File {
            name: "application-test.yml".into(),
            bytes: APPLICATION_TEST.as_bytes().to_vec(),
        });
    }
    if let Some(captures) = regex::Regex::new(r"text file with (\d+) lines")
        .ok()?
        .captures(words)
    {
        let count: usize = captures[1].parse().ok()?;
        return Some(Described::File {
            name: "file.txt".into(),
            bytes: padded_lines(count).into_bytes(),
        });
    }
    if words.contains("empty uploaded file") {
        return Some(Described::File {
            name: "file.txt".into(),
            bytes: Vec::new(),
        });
    }
    if let Some(uid) = words.strip_prefix("id of a paused execution of ") {
        let (namespace, flow_id) = uid.trim().split_once('/')?;
        return Some(Described::PausedExecution {
            namespace: namespace.to_string(),
            flow_id: flow_id.to_string(),
        });
    }
    match words {
        "a fresh unique name" => Some(Described::FreshName),
        "same name as the previous run" => Some(Described::PreviousName),
        _ => None,
    }
}

/// The integers `0..count`, each left-padded with spaces to width 20, one a line (what
/// `Files.write` makes of ForEachItemCaseTest's lines).
fn padded_lines(count: usize) -> String {
    (0..count).map(|number| format!("{number:>20}\n")).collect()
}

/// What a resume sends: text inputs, and files (input and content) for FILE inputs.
#[derive(Debug, Default)]
pub struct ResumeValues {
    pub inputs: Map<String, Value>,
    pub files: Vec<(String, Vec<u8>)>,
}

/// The values of a resume action: `resume with onResume inputs asked='restarted' and file part
/// data=<the execution id as text>` gives the input `asked` and a file for `data`.
pub fn resume_values(action: &str, execution_id: &str) -> ResumeValues {
    let mut inputs = Map::new();
    let mut files = Vec::new();
    let text_inputs = regex::Regex::new(r"(\w+)='([^']*)'").ok();
    for captures in text_inputs
        .iter()
        .flat_map(|regex| regex.captures_iter(action))
    {
        inputs.insert(
            captures[1].to_string(),
            Value::String(captures[2].to_string()),
        );
    }
    let file_parts = regex::Regex::new(r"file part (\w+)=<([^>]*)>").ok();
    for captures in file_parts
        .iter()
        .flat_map(|regex| regex.captures_iter(action))
    {
        let content = if &captures[2] == "the execution id as text" {
            execution_id.as_bytes().to_vec()
        } else {
            captures[2].as_bytes().to_vec()
        };
        files.push((captures[1].to_string(), content));
    }
    ResumeValues { inputs, files }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_descriptions_of_the_corpus() {
        assert_eq!(
            describe("<the letter 'a' repeated 3 times (11 KiB)>"),
            Some(Described::Text("aaa".into()))
        );
        let described = describe(
            "<kestra:// URI of an uploaded text file with 2 lines: the integers 0..1, each left-padded with spaces to width 20>",
        );
        let padded = format!("{}0\n{}1\n", " ".repeat(19), " ".repeat(19));
        assert_eq!(
            described,
            Some(Described::File {
                name: "file.txt".into(),
                bytes: padded.into_bytes()
            })
        );
        assert!(matches!(
            describe("<local file path; the test uses its classpath resource application-test.yml (core/src/test/resources/application-test.yml)>"),
            Some(Described::File { name, .. }) if name == "application-test.yml"
        ));
        assert_eq!(
            describe("<id of a paused execution of io.kestra.tests/pause>"),
            Some(Described::PausedExecution {
                namespace: "io.kestra.tests".into(),
                flow_id: "pause".into()
            })
        );
        assert_eq!(describe("<something else>"), None);
    }

    #[test]
    fn reads_resume_actions() {
        let ResumeValues { inputs, files } = resume_values(
            "resume with onResume inputs asked='restarted' and file part data=<the execution id as text>",
            "exec1",
        );
        assert_eq!(
            inputs.get("asked"),
            Some(&Value::String("restarted".into()))
        );
        assert_eq!(files, [("data".to_string(), b"exec1".to_vec())]);
        let ResumeValues { inputs, files } =
            resume_values("resume with no onResume inputs", "exec1");
        assert!(inputs.is_empty() && files.is_empty());
    }
}
