//! The ports a task reaches through its [`RunContext`](crate::RunContext): internal storage, the
//! key-value store, secrets, execution logs and trigger states, with the facades that scope them
//! to the running task.

use std::sync::Arc;

use jiff::Timestamp;
use peregrine_ports::kv::{KvEntry, KvPut, KvRecord, KvStore, StorageKv};
use peregrine_ports::memory::{MemoryExecutions, MemoryStorage, MemoryTriggers};
use peregrine_ports::repository::{self, ExecutionRepository, LogRepository};
use peregrine_ports::secrets::{EnvSecrets, Secrets};
use peregrine_ports::storage::{Storage, StorageContext, StoragePath};
use peregrine_ports::triggers::TriggerStore;

use crate::context::TaskError;
use crate::control::{ExecutionControl, NoExecutionControl};

/// The shared services of a worker, handed to every task it runs.
#[derive(Clone)]
pub struct TaskServices {
    pub storage: Arc<dyn Storage>,
    pub kv: Arc<dyn KvStore>,
    pub secrets: Arc<dyn Secrets>,
    /// The execution logs, for tasks that read them (`log.Fetch`). The runtime that runs the
    /// tasks sets it to the store its log lines go to.
    pub logs: Arc<dyn LogRepository>,
    /// The stored executions, for tasks that read them (`execution.Count`). The runtime that
    /// runs the tasks sets it to its execution store.
    pub executions: Arc<dyn ExecutionRepository>,
    /// Commands on executions (`execution.Resume`). The runtime that runs the tasks sets it to
    /// its executor; by default every command is refused.
    pub control: Arc<dyn ExecutionControl>,
    /// The scheduler's trigger states, for tasks that enable or disable a trigger (`Toggle`).
    pub triggers: Arc<dyn TriggerStore>,
}

impl std::fmt::Debug for TaskServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskServices").finish_non_exhaustive()
    }
}

impl TaskServices {
    /// Fresh in-memory storage, a key-value store inside it, no secrets, empty logs,
    /// executions and trigger states, and no control over executions.
    pub fn in_memory() -> Self {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        Self {
            kv: Arc::new(StorageKv::new(storage.clone())),
            storage,
            secrets: Arc::new(EnvSecrets::default()),
            logs: Arc::new(MemoryExecutions::new()),
            executions: Arc::new(MemoryExecutions::new()),
            control: Arc::new(NoExecutionControl),
            triggers: Arc::new(MemoryTriggers::new()),
        }
    }
}

impl From<repository::Error> for TaskError {
    fn from(error: repository::Error) -> Self {
        TaskError::Failed(error.to_string())
    }
}

impl From<peregrine_ports::storage::Error> for TaskError {
    fn from(error: peregrine_ports::storage::Error) -> Self {
        TaskError::Failed(error.to_string())
    }
}

impl From<peregrine_ports::kv::Error> for TaskError {
    fn from(error: peregrine_ports::kv::Error) -> Self {
        TaskError::Failed(error.to_string())
    }
}

impl From<peregrine_ports::secrets::Error> for TaskError {
    fn from(error: peregrine_ports::secrets::Error) -> Self {
        TaskError::Failed(error.to_string())
    }
}

/// Internal storage as a task sees it: files are written below its task run's directory, and
/// files are read by `kestra:///` URI.
pub struct TaskStorage<'a> {
    storage: &'a dyn Storage,
    context: StorageContext,
    task_id: &'a str,
    task_run_id: &'a str,
}

impl std::fmt::Debug for TaskStorage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskStorage")
            .field("context", &self.context)
            .field("task_run_id", &self.task_run_id)
            .finish()
    }
}

impl<'a> TaskStorage<'a> {
    pub(crate) fn new(
        storage: &'a dyn Storage,
        context: StorageContext,
        task_id: &'a str,
        task_run_id: &'a str,
    ) -> Self {
        Self {
            storage,
            context,
            task_id,
            task_run_id,
        }
    }

    /// The execution this task belongs to.
    pub fn context(&self) -> &StorageContext {
        &self.context
    }

    /// The directory of this task run's files.
    pub fn base(&self) -> Result<StoragePath, TaskError> {
        Ok(self.context.task_prefix(self.task_id, self.task_run_id)?)
    }

    /// Stores `bytes` as `name` in this task run's directory; returns its `kestra:///` URI.
    pub async fn put_file(&self, name: &str, bytes: Vec<u8>) -> Result<String, TaskError> {
        let path = self.base()?.join(name)?;
        self.storage.put(&path, bytes).await?;
        Ok(path.uri())
    }

    /// Stores `bytes` as `name` after a fresh unique prefix (`<unique>-<name>`), so files of the
    /// same name never replace each other; returns its `kestra:///` URI.
    pub async fn put_unique_file(&self, name: &str, bytes: Vec<u8>) -> Result<String, TaskError> {
        self.put_file(&format!("{}-{name}", unique_name()), bytes)
            .await
    }

    /// Stores `bytes` under a fresh unique name ending with `extension` (such as `.json`).
    pub async fn put_temp_file(
        &self,
        bytes: Vec<u8>,
        extension: &str,
    ) -> Result<String, TaskError> {
        self.put_file(&format!("{}{extension}", unique_name()), bytes)
            .await
    }

    /// The content of a `kestra:///` file.
    pub async fn get_file(&self, uri: &str) -> Result<Vec<u8>, TaskError> {
        Ok(self.storage.get(&StoragePath::from_uri(uri)?).await?)
    }

    /// The size of a `kestra:///` file in bytes.
    pub async fn size(&self, uri: &str) -> Result<u64, TaskError> {
        Ok(self.storage.size(&StoragePath::from_uri(uri)?).await?)
    }

    /// True when a `kestra:///` file exists.
    pub async fn exists(&self, uri: &str) -> Result<bool, TaskError> {
        Ok(self.storage.exists(&StoragePath::from_uri(uri)?).await?)
    }

    /// Deletes a `kestra:///` file; returns whether there was one.
    pub async fn delete(&self, uri: &str) -> Result<bool, TaskError> {
        Ok(self.storage.delete(&StoragePath::from_uri(uri)?).await?)
    }

    /// Deletes every file of the current execution; returns their URIs.
    pub async fn delete_execution_files(&self) -> Result<Vec<String>, TaskError> {
        let prefix = self.context.execution_prefix()?;
        let deleted = self.storage.delete_prefix(&prefix).await?;
        Ok(deleted.iter().map(StoragePath::uri).collect())
    }

    /// The port itself, for what the facade does not cover.
    pub fn port(&self) -> &'a dyn Storage {
        self.storage
    }
}

/// The key-value store of one namespace, on the wall clock.
pub struct NamespaceKv<'a> {
    kv: &'a dyn KvStore,
    namespace: String,
}

impl std::fmt::Debug for NamespaceKv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceKv")
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl<'a> NamespaceKv<'a> {
    pub(crate) fn new(kv: &'a dyn KvStore, namespace: String) -> Self {
        Self { kv, namespace }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub async fn get(&self, key: &str) -> Result<Option<KvRecord>, TaskError> {
        Ok(self.kv.get(&self.namespace, key, Timestamp::now()).await?)
    }

    pub async fn set(&self, key: &str, put: KvPut) -> Result<(), TaskError> {
        Ok(self
            .kv
            .set(&self.namespace, key, put, Timestamp::now())
            .await?)
    }

    pub async fn delete(&self, key: &str) -> Result<bool, TaskError> {
        Ok(self.kv.delete(&self.namespace, key).await?)
    }

    pub async fn list(&self, prefix: Option<&str>) -> Result<Vec<KvEntry>, TaskError> {
        Ok(self
            .kv
            .list(&self.namespace, prefix, Timestamp::now())
            .await?)
    }
}

/// A 22-character base62 name from a time-ordered UUID, like Kestra's ids.
fn unique_name() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut number = uuid::Uuid::now_v7().as_u128();
    let mut digits = [b'0'; 22];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(number % 62) as usize];
        number /= 62;
    }
    digits.iter().map(|&byte| char::from(byte)).collect()
}
