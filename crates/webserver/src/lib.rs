//! The webserver role: Kestra's REST API over the repository and command ports.
//!
//! Built as every component is: [`WebserverOptions`] (the ports it serves and what it validates
//! flows with) -> [`WebserverOptions::build`] -> [`Webserver::run`] until a shutdown token fires.
//! Paths and JSON shapes are Kestra's (`/api/v1/...`, camelCase, nulls omitted); the HTTP status
//! of each port error is decided here and nowhere else ([`error`]).
//!
//! - [`flows`], [`executions`], [`execution_labels`], [`logs`], [`kv`], [`namespaces`],
//!   [`namespace_files`], [`triggers`]: one file per API resource, each with its route table;
//!   [`webhook`]: the Webhook trigger's endpoint; [`form`]: multipart inputs and files;
//! - [`health`]: `/health` and `/metrics` (Prometheus text);
//! - [`openapi`]: the OpenAPI document, generated from the same route tables as the router;
//! - [`routes`]: the route tables' types, the router, the JSON 404 fallback;
//! - [`documents`], [`params`], [`sse`], [`state`]: multi-document YAML bodies, query strings,
//!   server-sent events, the shared state.

mod documents;
mod error;
mod execution_labels;
mod executions;
mod flows;
mod form;
mod health;
mod kv;
mod logs;
mod namespace_files;
mod namespaces;
mod openapi;
mod params;
mod routes;
mod sse;
mod state;
mod triggers;
mod webhook;

use std::sync::Arc;

use axum::Router;
use peregrine_model::Registry;
use peregrine_model::schema::ExpressionSyntax;
use peregrine_ports::kv::KvStore;
use peregrine_ports::repository::{
    ExecutionCommands, ExecutionRepository, FlowRepository, LogRepository,
};
use peregrine_ports::storage::Storage;
use peregrine_ports::triggers::TriggerStore;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use health::RenderMetrics;
pub use sse::LOG_FOLLOW_TICK;
use state::AppState;

/// What the webserver serves, and what it checks flows with.
#[derive(Clone)]
pub struct WebserverOptions {
    pub flows: Arc<dyn FlowRepository>,
    pub executions: Arc<dyn ExecutionRepository>,
    pub logs: Arc<dyn LogRepository>,
    pub commands: Arc<dyn ExecutionCommands>,
    /// The key-value store of every namespace.
    pub kv: Arc<dyn KvStore>,
    /// Internal storage, for the namespace files.
    pub storage: Arc<dyn Storage>,
    /// The scheduler's trigger states; a change made here should wake the scheduler.
    pub triggers: Arc<dyn TriggerStore>,
    /// The plugin catalogue flows are validated against.
    pub registry: Arc<Registry>,
    /// Checks the syntax of `{{ }}` templates in the validate endpoint, when given (saving a flow
    /// does not: as in Kestra, a broken template fails its task when rendered).
    pub expressions: Option<Arc<dyn ExpressionSyntax + Send + Sync>>,
    /// Appends the Prometheus text of other components (executor, worker) to `/metrics`.
    pub metrics: Option<RenderMetrics>,
}

impl std::fmt::Debug for WebserverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebserverOptions").finish_non_exhaustive()
    }
}

impl WebserverOptions {
    pub fn build(self) -> Webserver {
        Webserver {
            state: AppState::new(self, CancellationToken::new()),
        }
    }
}

/// The REST API, ready to serve.
#[derive(Debug)]
pub struct Webserver {
    state: AppState,
}

impl Webserver {
    /// The router of every route (for tests, or to nest into a larger application).
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
    }

    /// Serves HTTP/1.1 on `listener` until `shutdown` is cancelled, then ends open event
    /// streams and waiting requests, and returns once in-flight requests are answered.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let stopping = self.state.stopping().clone();
        let router = self.router();
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                shutdown.cancelled().await;
                stopping.cancel();
            })
            .await
    }
}
