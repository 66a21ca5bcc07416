//! FilterItems: keeps or drops the rows of an ION file matching a condition.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Whether matching rows are kept or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FilterType {
    Include,
    Exclude,
}

/// What to do with a row whose condition fails or renders to null.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ErrorOrNullBehavior {
    Fail,
    Include,
    Exclude,
}

/// Filters the rows of an ION file with a condition rendered for each row.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilterItemsSpec {
    /// The `kestra://` URI of the ION file.
    pub from: String,
    /// A template rendered for each row; true matches.
    pub filter_condition: String,
    /// INCLUDE (keep matching rows, the default) or EXCLUDE.
    pub filter_type: Option<Property<FilterType>>,
    /// FAIL (the default), INCLUDE or EXCLUDE.
    pub error_or_null_behavior: Option<Property<ErrorOrNullBehavior>>,
}
runnable!(
    FilterItemsSpec,
    "storage.FilterItems",
    "io.kestra.core.tasks.storages.FilterItems"
);
