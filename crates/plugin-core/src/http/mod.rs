//! `io.kestra.plugin.core.http`: HTTP requests and downloads, and the HTTP polling trigger.
//!
//! Both tasks share one path: `prepare` renders the request, `settings` reads the options,
//! `client` makes the exchange on `ureq` (blocking, on tokio's blocking pool, stopped on kill),
//! and `call` ties them together with logging and the response-code check.

mod auth;
mod call;
mod client;
mod common;
mod download;
mod error;
mod filename;
mod form;
mod options;
mod prepare;
mod request;
mod settings;
mod trigger;

pub use common::HttpRequest;
pub use download::DownloadSpec;
pub use error::Error;
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
