//! The runnable side of the catalogue: a constructor per task type.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use peregrine_model::flow::Task;

use crate::context::{RunContext, TaskError, TaskOutput};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A task that runs on a worker.
pub trait RunnableTask: Send + Sync {
    fn run<'a>(&'a self, context: &'a RunContext) -> BoxFuture<'a, Result<TaskOutput, TaskError>>;
}

/// Builds a runnable task from its definition (reading its spec).
pub type TaskBuilder = fn(&Task) -> Result<Box<dyn RunnableTask>, TaskError>;

/// A [`TaskBuilder`] for a spec that runs itself: reads the task's properties into `S`.
pub fn from_spec<S: serde::de::DeserializeOwned + RunnableTask + 'static>(
    task: &Task,
) -> Result<Box<dyn RunnableTask>, TaskError> {
    let spec: S = task.spec().map_err(|error| TaskError::Property {
        property: task.common.id.clone(),
        message: error.to_string(),
    })?;
    Ok(Box::new(spec))
}

/// The runnable task types of this build, by canonical type name.
#[derive(Clone, Default)]
pub struct Runners {
    builders: HashMap<&'static str, TaskBuilder>,
}

impl std::fmt::Debug for Runners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runners")
            .field("types", &self.builders.len())
            .finish()
    }
}

impl Runners {
    pub fn add(&mut self, type_name: &'static str, builder: TaskBuilder) {
        self.builders.insert(type_name, builder);
    }

    /// Builds the task, or says that this build cannot run its type.
    pub fn build(&self, task: &Task) -> Result<Box<dyn RunnableTask>, TaskError> {
        match self.builders.get(task.common.type_name.as_str()) {
            Some(builder) => builder(task),
            None => Err(TaskError::Unsupported(task.common.type_name.clone())),
        }
    }

    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}
