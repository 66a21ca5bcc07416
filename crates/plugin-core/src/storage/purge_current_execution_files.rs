//! PurgeCurrentExecutionFiles: deletes the internal storage files of the current execution.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Deletes every internal storage file of the current execution. No properties of its own.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PurgeCurrentExecutionFilesSpec {}
runnable!(
    PurgeCurrentExecutionFilesSpec,
    "storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.tasks.storages.PurgeExecution",
    "io.kestra.plugin.core.storage.PurgeExecution"
);
