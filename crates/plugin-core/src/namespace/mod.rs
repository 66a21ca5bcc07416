//! `io.kestra.plugin.core.namespace`: namespace files.

mod delete_files;
mod download_files;
mod upload_files;

pub use delete_files::DeleteFilesSpec;
pub use download_files::DownloadFilesSpec;
pub use upload_files::{Conflict, UploadFilesSpec};

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<UploadFilesSpec>();
    registry.register::<DownloadFilesSpec>();
    registry.register::<DeleteFilesSpec>();
}
