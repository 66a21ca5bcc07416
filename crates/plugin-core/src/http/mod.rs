//! `io.kestra.plugin.core.http`: HTTP requests and downloads, and the HTTP polling trigger.

mod common;
mod download;
mod options;
mod request;
mod trigger;

pub use common::HttpRequest;
pub use download::DownloadSpec;
pub use options::{
    AuthType, HttpAuth, HttpLogging, HttpOptions, HttpProxy, HttpTimeouts, ProxyType, SslOptions,
};
pub use request::RequestSpec;
pub use trigger::HttpTriggerSpec;

use peregrine_model::Registry;

pub fn register(registry: &mut Registry) {
    registry.register::<RequestSpec>();
    registry.register::<DownloadSpec>();
    registry.register::<HttpTriggerSpec>();
}
