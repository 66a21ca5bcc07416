//! The route table: every endpoint once, with what the OpenAPI document says of it, next to the
//! handler that serves it. The router and the document are both built from these tables, so a
//! route cannot be served without being documented.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// A query parameter, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    /// JSON Schema type: `string`, `integer` or `boolean`.
    pub kind: &'static str,
    pub description: &'static str,
    /// The key may be given several times.
    pub repeated: bool,
}

impl QueryParam {
    pub const fn new(name: &'static str, kind: &'static str, description: &'static str) -> Self {
        Self {
            name,
            kind,
            description,
            repeated: false,
        }
    }

    pub const fn repeated(mut self) -> Self {
        self.repeated = true;
        self
    }
}

/// What an endpoint answers on success.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    /// Media type and schema (a name under `components/schemas`, `[Name]` for a list of them).
    pub body: Option<(&'static str, &'static str)>,
}

impl Reply {
    pub const fn json(schema: &'static str) -> Self {
        Self {
            status: 200,
            body: Some(("application/json", schema)),
        }
    }

    pub const fn empty(status: u16) -> Self {
        Self { status, body: None }
    }

    pub const fn media(media: &'static str, schema: &'static str) -> Self {
        Self {
            status: 200,
            body: Some((media, schema)),
        }
    }
}

/// One endpoint, as the OpenAPI document describes it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: Method,
    /// Axum's syntax (`{namespace}`), which is also OpenAPI's.
    pub path: &'static str,
    pub operation_id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub query: &'static [QueryParam],
    /// The request body's media type, if any.
    pub body: Option<&'static str>,
    pub reply: Reply,
    /// Error statuses this endpoint answers besides 500.
    pub errors: &'static [u16],
}

/// An endpoint and its handler.
pub(crate) struct Route {
    pub endpoint: Endpoint,
    pub handler: MethodRouter<AppState>,
}

/// Every route of the API, resource by resource.
pub(crate) fn all() -> Vec<Route> {
    let mut routes = crate::flows::routes();
    routes.extend(crate::executions::routes());
    routes.extend(crate::execution_labels::routes());
    routes.extend(crate::kv::routes());
    routes.extend(crate::namespace_files::routes());
    routes.extend(crate::namespaces::routes());
    routes.extend(crate::webhook::routes());
    routes.extend(crate::logs::routes());
    routes.extend(crate::triggers::routes());
    routes.extend(crate::health::routes());
    routes.extend(crate::openapi::routes());
    routes
}

pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in all() {
        router = router.route(route.endpoint.path, route.handler);
    }
    router
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

/// Counts answers by status class for `/metrics`.
async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await.into_response();
    state.http.record(response.status());
    response
}
