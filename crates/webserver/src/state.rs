//! What every handler sees: the ports, the validator's catalogue, metrics, the stop signal.

use std::sync::Arc;

use peregrine_model::{FlowReport, Validator};
use tokio_util::sync::CancellationToken;

use crate::WebserverOptions;
use crate::documents::Document;
use crate::error::ApiError;
use crate::health::HttpMetrics;

/// Cheap to clone: one `Arc` around everything.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub options: WebserverOptions,
    pub http: HttpMetrics,
    /// Cancelled when the server stops: event streams and waiting requests end.
    pub stopping: CancellationToken,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(options: WebserverOptions, stopping: CancellationToken) -> Self {
        Self(Arc::new(Inner {
            options,
            http: HttpMetrics::default(),
            stopping,
        }))
    }

    pub fn stopping(&self) -> &CancellationToken {
        &self.0.stopping
    }

    /// Validates flow documents to save them, as Kestra does: the syntax of `{{ }}` templates
    /// is not checked (a broken template fails its task when rendered).
    pub async fn validate(&self, documents: Vec<Document>) -> Result<Vec<FlowReport>, ApiError> {
        self.validate_with(documents, false).await
    }

    /// Validates flow documents for the validate endpoint (the editor's checks), the syntax of
    /// `{{ }}` templates included.
    pub async fn lint(&self, documents: Vec<Document>) -> Result<Vec<FlowReport>, ApiError> {
        self.validate_with(documents, true).await
    }

    /// Validates off the async threads (a large flow takes milliseconds); the positions of each
    /// report count from the document's first line in the request body.
    async fn validate_with(
        &self,
        documents: Vec<Document>,
        templates: bool,
    ) -> Result<Vec<FlowReport>, ApiError> {
        let options = self.options.clone();
        tokio::task::spawn_blocking(move || {
            let mut validator = Validator::new(&options.registry);
            if let Some(expressions) = options.expressions.as_ref().filter(|_| templates) {
                validator = validator.with_expressions(expressions.as_ref());
            }
            documents
                .iter()
                .map(|document| document.shift(validator.validate_one(&document.text)))
                .collect()
        })
        .await
        .map_err(|error| ApiError::Internal(format!("validation stopped: {error}")))
    }
}
