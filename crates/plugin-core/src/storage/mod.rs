//! `io.kestra.plugin.core.storage`: tasks on internal storage files.

mod concat;
mod deduplicate_items;
mod delete;
mod filter_items;
mod local_files;
mod purge_current_execution_files;
mod reverse;
mod size;
mod split;
mod write;

pub use concat::ConcatSpec;
pub use deduplicate_items::DeduplicateItemsSpec;
pub use delete::StorageDeleteSpec;
pub use filter_items::{ErrorOrNullBehavior, FilterItemsSpec, FilterType};
pub use local_files::LocalFilesSpec;
pub use purge_current_execution_files::PurgeCurrentExecutionFilesSpec;
pub use reverse::ReverseSpec;
pub use size::SizeSpec;
pub use split::SplitSpec;
pub use write::WriteSpec;

use peregrine_model::Registry;

/// The extension of files written without one, as Java's temporary files.
const DEFAULT_EXTENSION: &str = ".tmp";

pub fn register(registry: &mut Registry) {
    registry.register::<ConcatSpec>();
    registry.register::<DeduplicateItemsSpec>();
    registry.register::<StorageDeleteSpec>();
    registry.register::<FilterItemsSpec>();
    registry.register::<LocalFilesSpec>();
    registry.register::<PurgeCurrentExecutionFilesSpec>();
    registry.register::<ReverseSpec>();
    registry.register::<SizeSpec>();
    registry.register::<SplitSpec>();
    registry.register::<WriteSpec>();
}
