//! `/health` and `/metrics`: liveness, and counters in the Prometheus text format
//! (`peregrine_<component>_<thing>_<unit>`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use crate::routes::{Endpoint, Reply, Route};
use crate::state::AppState;

/// Appends the Prometheus text of another component to `/metrics`.
pub type RenderMetrics = Arc<dyn Fn(&mut String) + Send + Sync>;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) fn routes() -> Vec<Route> {
    let endpoint = |path, operation_id, summary, reply| Endpoint {
        method: Method::GET,
        path,
        operation_id,
        tag: "Server",
        summary,
        query: &[],
        body: None,
        reply,
        errors: &[],
    };
    vec![
        Route {
            endpoint: endpoint(
                "/health",
                "health",
                "Liveness: {\"status\":\"UP\"}",
                Reply::json("Health"),
            ),
            handler: get(health),
        },
        Route {
            endpoint: endpoint(
                "/metrics",
                "metrics",
                "Counters and gauges in the Prometheus text format",
                Reply::media("text/plain", "PrometheusText"),
            ),
            handler: get(metrics),
        },
    ]
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "UP" }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = String::new();
    state.http.render(&mut text);
    if let Some(render) = &state.options.metrics {
        render(&mut text);
    }
    ([(CONTENT_TYPE, PROMETHEUS_TEXT)], text)
}

/// Answers by status class (1xx to 5xx).
#[derive(Debug, Default)]
pub(crate) struct HttpMetrics {
    responses: [AtomicU64; 5],
}

impl HttpMetrics {
    pub fn record(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).saturating_sub(1);
        if let Some(counter) = self.responses.get(class) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP peregrine_webserver_responses_total HTTP responses by status class.\n",
        );
        out.push_str("# TYPE peregrine_webserver_responses_total counter\n");
        for (index, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "peregrine_webserver_responses_total{{class=\"{}xx\"}} {}",
                index + 1,
                counter.load(Ordering::Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_status_class() {
        let metrics = HttpMetrics::default();
        metrics.record(StatusCode::OK);
        metrics.record(StatusCode::NO_CONTENT);
        metrics.record(StatusCode::NOT_FOUND);
        let mut text = String::new();
        metrics.render(&mut text);
        assert!(text.contains("peregrine_webserver_responses_total{class=\"2xx\"} 2\n"));
        assert!(text.contains("peregrine_webserver_responses_total{class=\"4xx\"} 1\n"));
        assert!(text.contains("peregrine_webserver_responses_total{class=\"5xx\"} 0\n"));
    }
}
