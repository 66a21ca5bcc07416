//! `/api/v1/namespaces/{namespace}/files`: a namespace's files in internal storage (under the
//! namespace-files prefix), as Kestra serves them: list a directory, read a file, its stats,
//! upload one (multipart `fileContent`), move and delete files and directories.
//!
//! Paths are from the namespace root, with or without the leading `/`. Directories are the
//! prefixes of stored files: a directory exists while a file is below it, so deleting a
//! directory's last file removes the directory too (Kestra's cascade). Paths under `/_flows` are
//! refused, as Kestra refuses them.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use peregrine_ports::storage::{self, Storage, StoragePath, namespace_files_prefix};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::Params;
use crate::routes::{Endpoint, QueryParam, Reply, Route};
use crate::state::AppState;

const TAG: &str = "Files";
/// The multipart part holding an uploaded file.
const FILE_PART: &str = "fileContent";
/// Kestra keeps a namespace's flows there in exports; no file may live under it.
const FLOWS_FOLDER: &str = "/_flows";

const PATH_QUERY: &[QueryParam] = &[QueryParam::new(
    "path",
    "string",
    "The path from the namespace root (the root when absent)",
)];
const MOVE_QUERY: &[QueryParam] = &[
    QueryParam::new("from", "string", "The file or directory to move"),
    QueryParam::new("to", "string", "Where it goes"),
];

pub(crate) fn routes() -> Vec<Route> {
    let endpoint = |method, path, operation_id, summary, reply| Endpoint {
        method,
        path,
        operation_id,
        tag: TAG,
        summary,
        query: PATH_QUERY,
        body: None,
        reply,
        errors: &[404, 422],
    };
    vec![
        Route {
            endpoint: endpoint(
                Method::GET,
                "/api/v1/namespaces/{namespace}/files/directory",
                "listNamespaceDirectoryFiles",
                "List a directory: its files and directories, sorted by name",
                Reply::json("[FileAttributes]"),
            ),
            handler: get(list),
        },
        Route {
            endpoint: endpoint(
                Method::GET,
                "/api/v1/namespaces/{namespace}/files/stats",
                "getFileMetadatas",
                "Get the stats of a file or directory (name, type, size)",
                Reply::json("FileAttributes"),
            ),
            handler: get(stats),
        },
        Route {
            endpoint: endpoint(
                Method::GET,
                "/api/v1/namespaces/{namespace}/files",
                "getFileContent",
                "Get the content of a file",
                Reply::media("application/octet-stream", "FileContent"),
            ),
            handler: get(content),
        },
        Route {
            endpoint: Endpoint {
                body: Some("multipart/form-data"),
                errors: &[422],
                ..endpoint(
                    Method::POST,
                    "/api/v1/namespaces/{namespace}/files",
                    "createNamespaceFile",
                    "Upload a file (the multipart part `fileContent`) at `path`, replacing any",
                    Reply::empty(200),
                )
            },
            handler: axum::routing::post(upload),
        },
        Route {
            endpoint: Endpoint {
                query: MOVE_QUERY,
                ..endpoint(
                    Method::PUT,
                    "/api/v1/namespaces/{namespace}/files",
                    "moveFileDirectory",
                    "Move a file or a directory; files already at the target are replaced",
                    Reply::empty(200),
                )
            },
            handler: axum::routing::put(move_files),
        },
        Route {
            endpoint: Endpoint {
                errors: &[422],
                ..endpoint(
                    Method::DELETE,
                    "/api/v1/namespaces/{namespace}/files",
                    "deleteFileDirectory",
                    "Delete a file or a directory and everything below it",
                    Reply::empty(200),
                )
            },
            handler: axum::routing::delete(remove),
        },
    ]
}

/// A path from the namespace root, checked: `None` for the root.
fn relative_path(namespace: &str, given: Option<&str>) -> Result<Option<String>, ApiError> {
    let trimmed = given.unwrap_or_default().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let rooted = format!("/{trimmed}");
    if rooted == FLOWS_FOLDER || rooted.starts_with(&format!("{FLOWS_FOLDER}/")) {
        return Err(illegal(format!("Forbidden path: {rooted}")));
    }
    // Checked as a storage path: no empty, `.` or `..` segment.
    storage_path(namespace, Some(trimmed))?;
    Ok(Some(trimmed.to_string()))
}

/// Where `relative` (or the namespace root) is stored.
fn storage_path(namespace: &str, relative: Option<&str>) -> Result<StoragePath, ApiError> {
    let root = namespace_files_prefix(namespace).map_err(|error| illegal(error.to_string()))?;
    match relative {
        None => Ok(root),
        Some(relative) => root
            .join(relative)
            .map_err(|error| illegal(error.to_string())),
    }
}

/// Kestra's 422 for an `IllegalArgumentException`.
fn illegal(message: String) -> ApiError {
    ApiError::invalid(format!("Illegal argument: {message}"))
}

/// Kestra's 404 for a file that is not there.
fn not_found(path: &StoragePath) -> ApiError {
    ApiError::NotFound(format!("Not Found: {}", path.as_str()))
}

fn storage_error(error: storage::Error) -> ApiError {
    match error {
        storage::Error::NotFound(path) => ApiError::NotFound(format!("Not Found: {path}")),
        storage::Error::InvalidPath { .. } => illegal(error.to_string()),
        storage::Error::TooLarge { .. } => ApiError::invalid(error.to_string()),
        storage::Error::Io { .. } => ApiError::Internal(error.to_string()),
    }
}

/// Kestra's `FileAttributes` (storage keeps no times: they are 0).
fn attributes(name: &str, directory: bool, size: u64) -> Value {
    json!({
        "fileName": name,
        "lastModifiedTime": 0,
        "creationTime": 0,
        "type": if directory { "Directory" } else { "File" },
        "size": size,
        "metadata": {},
    })
}

/// What is at a path: a file (its size), a directory, or nothing.
enum Found {
    File(u64),
    Directory,
    Nothing,
}

async fn find(storage: &dyn Storage, path: &StoragePath) -> Result<Found, ApiError> {
    match storage.size(path).await {
        Ok(size) => return Ok(Found::File(size)),
        Err(storage::Error::NotFound(_)) => {}
        Err(error) => return Err(storage_error(error)),
    }
    let below = storage.list(path).await.map_err(storage_error)?;
    Ok(if below.is_empty() {
        Found::Nothing
    } else {
        Found::Directory
    })
}

async fn list(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
) -> Result<Json<Vec<Value>>, ApiError> {
    let relative = relative_path(&namespace, params.get("path"))?;
    let directory = storage_path(&namespace, relative.as_deref())?;
    let storage = state.options.storage.as_ref();
    let below = storage.list(&directory).await.map_err(storage_error)?;
    if below.is_empty() && relative.is_some() {
        return Err(not_found(&directory));
    }
    let mut children: Vec<(String, bool, u64)> = Vec::new();
    for file in below {
        let Some(rest) = file
            .path
            .as_str()
            .strip_prefix(directory.as_str())
            .map(|rest| rest.trim_start_matches('/'))
        else {
            continue;
        };
        let child = match rest.split_once('/') {
            Some((folder, _)) => (folder.to_string(), true, 0),
            None => (rest.to_string(), false, file.size),
        };
        if !children.iter().any(|(name, ..)| *name == child.0) {
            children.push(child);
        }
    }
    children.sort();
    Ok(Json(
        children
            .iter()
            .map(|(name, directory, size)| attributes(name, *directory, *size))
            .collect(),
    ))
}

async fn stats(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let relative = relative_path(&namespace, params.get("path"))?;
    let path = storage_path(&namespace, relative.as_deref())?;
    if relative.is_none() {
        // The root always exists (Kestra creates it when asked).
        return Ok(Json(attributes(path.file_name(), true, 0)));
    }
    match find(state.options.storage.as_ref(), &path).await? {
        Found::File(size) => Ok(Json(attributes(path.file_name(), false, size))),
        Found::Directory => Ok(Json(attributes(path.file_name(), true, 0))),
        Found::Nothing => Err(not_found(&path)),
    }
}

async fn content(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let relative = relative_path(&namespace, params.get("path"))?;
    let path = storage_path(&namespace, relative.as_deref())?;
    let bytes = match state.options.storage.get(&path).await {
        Ok(bytes) => bytes,
        Err(storage::Error::NotFound(_)) => return Err(not_found(&path)),
        Err(error) => return Err(storage_error(error)),
    };
    Ok((
        [(CONTENT_TYPE, "application/octet-stream")],
        Body::from(bytes),
    )
        .into_response())
}

async fn upload(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let relative = relative_path(&namespace, params.get("path"))?
        .ok_or_else(|| illegal("a file needs a path".to_string()))?;
    let path = storage_path(&namespace, Some(&relative))?;
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|error| ApiError::invalid(error.body_text()))?;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| ApiError::invalid(error.body_text()))?
    {
        if field.name() != Some(FILE_PART) {
            continue;
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|error| ApiError::invalid(error.body_text()))?;
        state
            .options
            .storage
            .put(&path, bytes.to_vec())
            .await
            .map_err(storage_error)?;
        return Ok(StatusCode::OK);
    }
    Err(ApiError::invalid(format!(
        "Required argument [CompletedFileUpload {FILE_PART}] not specified"
    )))
}

async fn move_files(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let required = |name: &str| {
        relative_path(&namespace, params.get(name))?
            .ok_or_else(|| illegal(format!("'{name}' must name a file or directory")))
    };
    let (from, to) = (required("from")?, required("to")?);
    let (source, target) = (
        storage_path(&namespace, Some(&from))?,
        storage_path(&namespace, Some(&to))?,
    );
    let storage = state.options.storage.as_ref();
    let moves = match find(storage, &source).await? {
        Found::File(_) => vec![(source.clone(), target.clone())],
        Found::Directory => {
            let mut moves = Vec::new();
            for file in storage.list(&source).await.map_err(storage_error)? {
                let rest = file.path.as_str()[source.as_str().len()..].to_string();
                let moved = target.join(&rest).map_err(storage_error)?;
                moves.push((file.path, moved));
            }
            moves
        }
        Found::Nothing => return Err(not_found(&source)),
    };
    for (from, to) in moves {
        let bytes = storage.get(&from).await.map_err(storage_error)?;
        storage.put(&to, bytes).await.map_err(storage_error)?;
        storage.delete(&from).await.map_err(storage_error)?;
    }
    Ok(StatusCode::OK)
}

async fn remove(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let relative = relative_path(&namespace, params.get("path"))?
        .ok_or_else(|| illegal("'path' must name a file or directory".to_string()))?;
    let path = storage_path(&namespace, Some(&relative))?;
    let storage = state.options.storage.as_ref();
    // A file, or else a directory and everything below it; nothing there is not an error.
    if !storage.delete(&path).await.map_err(storage_error)? {
        storage.delete_prefix(&path).await.map_err(storage_error)?;
    }
    Ok(StatusCode::OK)
}
