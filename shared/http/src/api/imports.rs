//! `/api/imports/*` and `POST /api/leads/upload-csv`: CSV lead imports
//! (admin). Uploads stream into the import service without being held in
//! memory; their size limit is `Config::import_max_bytes` (checked against
//! `Content-Length` before anything is written, and counted while reading).

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use ibrat_domain::ImportId;
use ibrat_services::import::{self, FileError, ImportError, SourceError};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{parse_id, ApiPath, ApiQuery};
use crate::api::ErrorBody;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Maps import failures to statuses: refused files 422 (413 when too
/// large), a missing upload 422, outages 503.
impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::NotFound => ApiError::not_found("import"),
            ImportError::Forbidden(m) => ApiError::forbidden(m),
            ImportError::Validation(m) => ApiError::validation(m),
            ImportError::Refused { import_id, error } => {
                let message = format!("import {import_id}: {error}");
                match error {
                    FileError::TooLarge { .. } => ApiError::too_large(message),
                    other => ApiError::unprocessable(other.code(), message),
                }
            }
            ImportError::Source(SourceError::TooLarge { max_bytes }) => {
                ApiError::too_large(format!("the upload is larger than the limit of {max_bytes} bytes"))
            }
            ImportError::Source(SourceError::NotFound(k)) => {
                ApiError::unprocessable("upload_missing", format!("the uploaded file `{k}` does not exist"))
            }
            ImportError::Source(SourceError::Unavailable(m)) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "upload_interrupted",
                format!("the upload could not be read: {m}"),
            ),
            ImportError::Store(s) => s.into(),
            ImportError::Superseded(id) => ApiError::conflict(format!("import {id} is being run elsewhere")),
        }
    }
}

/// The upload routes of [`crate::api::ROUTES`] (marked `upload`), without
/// the 1 MiB JSON limit: their bodies stream into the import, which
/// enforces `Config::import_max_bytes` itself.
pub fn router() -> axum::Router<AppState> {
    let mut router = axum::Router::new();
    for r in crate::api::ROUTES.iter().filter(|r| r.upload) {
        router = router.route(r.path, r.method_router());
    }
    router.layer(axum::extract::DefaultBodyLimit::disable())
}

/// Starts an import whose file is uploaded separately.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewImportBody {
    /// The file's name, kept for the listing.
    pub file_name: Option<String>,
}

/// Creates an import and a presigned URL to PUT its CSV to (201); the
/// upload's arrival starts it (`GET /api/imports/{id}` follows it).
#[utoipa::path(post, path = "/api/imports", tag = "imports", security(("bearer" = [])), request_body = NewImportBody,
    responses((status = 201, description = "Import id and upload URL", body = serde_json::Value),
              (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, admin: AdminUser, req: Request) -> Result<Response, ApiError> {
    let has_body = req.headers().get(header::CONTENT_LENGTH).is_none_or(|v| v != "0")
        && req.headers().contains_key(header::CONTENT_TYPE);
    let body = if has_body {
        crate::api::extract::ApiJson::<NewImportBody>::from_request(req, &state).await?.0
    } else {
        NewImportBody::default()
    };
    let created = import::create(&state.deps, &admin.actor(), body.file_name.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Paging of the list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportListQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// Lists imports, newest first.
#[utoipa::path(get, path = "/api/imports", tag = "imports", security(("bearer" = [])), params(ImportListQuery),
    responses((status = 200, description = "A page of imports", body = serde_json::Value)))]
pub async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiQuery(q): ApiQuery<ImportListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(import::list(&state.deps, &admin.actor(), q.limit, q.cursor.as_deref()).await?))
}

/// One import: status, counts and its first rejected rows.
#[utoipa::path(get, path = "/api/imports/{id}", tag = "imports", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The import", body = serde_json::Value),
              (status = 404, description = "No such import", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: ImportId = parse_id(&id)?;
    Ok(Json(import::get(&state.deps, &admin.actor(), &id).await?))
}

/// A streamed CSV response.
pub fn csv_response<E: std::fmt::Display + Send + 'static>(
    file_name: &str,
    body: BoxStream<'static, Result<Bytes, E>>,
) -> Response {
    let body = body.map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "CSV download interrupted");
            std::io::Error::other(e.to_string())
        })
    });
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut res = Response::new(Body::from_stream(body));
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Every rejected row of an import, with line, column and reason, as CSV.
#[utoipa::path(get, path = "/api/imports/{id}/errors.csv", tag = "imports", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "Rejected rows (text/csv), or on AWS a JSON link {download_url, file_name, bytes, expires_in_secs}", body = String, content_type = "text/csv"),
              (status = 404, description = "No such import", body = ErrorBody)))]
pub async fn errors_csv(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: ImportId = parse_id(&id)?;
    import::get(&state.deps, &admin.actor(), &id).await?;
    let name = format!("{id}-errors.csv");
    super::exports::deliver(&state, &name, import::errors_csv::stream(state.deps.store.clone(), id)).await
}

/// Refuses a declared length over the limit before anything is read.
fn check_length(headers: &HeaderMap, max_bytes: u64) -> Result<(), ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > max_bytes => {
            Err(ApiError::too_large(format!("the file is larger than the limit of {max_bytes} bytes; split it")))
        }
        _ => Ok(()),
    }
}

/// The file part of a multipart upload, streamed from a task that owns
/// the request body; the part's file name is sent first.
async fn multipart_file(
    mut mp: Multipart,
) -> Result<(Option<String>, BoxStream<'static, Result<Bytes, SourceError>>), ApiError> {
    let (name_tx, name_rx) = oneshot::channel::<Result<Option<String>, String>>();
    let (tx, rx) = mpsc::channel::<Result<Bytes, SourceError>>(4);
    tokio::spawn(async move {
        let mut field = loop {
            match mp.next_field().await {
                Ok(Some(f)) if f.name() == Some("file") || f.file_name().is_some() => break f,
                Ok(Some(_)) => continue,
                Ok(None) => {
                    let _ = name_tx.send(Err("the form has no `file` part".into()));
                    return;
                }
                Err(e) => {
                    let _ = name_tx.send(Err(e.body_text()));
                    return;
                }
            }
        };
        if name_tx.send(Ok(field.file_name().map(str::to_owned))).is_err() {
            return;
        }
        loop {
            let next = match field.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => return,
                Err(e) => Err(SourceError::Unavailable(e.body_text())),
            };
            let failed = next.is_err();
            if tx.send(next).await.is_err() || failed {
                return;
            }
        }
    });
    let name = match name_rx.await {
        Ok(Ok(name)) => name,
        Ok(Err(m)) => return Err(ApiError::validation(m)),
        Err(_) => return Err(ApiError::validation("the form could not be read")),
    };
    let chunks = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }).boxed();
    Ok((name, chunks))
}

/// Query of the direct upload.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name when the body is raw CSV.
    pub file_name: Option<String>,
}

/// Imports a CSV sent as the `file` part of a multipart form or as a raw
/// `text/csv` body, and answers with the summary: import id, status,
/// counts and the first rejected rows (all of them at
/// `/api/imports/{id}/errors.csv`). A refused file answers 422 (413 when
/// too large) naming the import.
#[utoipa::path(post, path = "/api/leads/upload-csv", tag = "imports", security(("bearer" = [])), params(UploadQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV, or a multipart form with a `file` part"),
    responses((status = 200, description = "Import summary", body = serde_json::Value),
              (status = 413, description = "Too large", body = ErrorBody),
              (status = 422, description = "The file was refused", body = ErrorBody)))]
pub async fn upload_csv(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let deps = &state.deps;
    check_length(req.headers(), deps.config.import_max_bytes)?;
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let (name, chunks) = if content_type.starts_with("multipart/form-data") {
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::validation(format!("the form could not be read: {}", e.body_text())))?;
        multipart_file(mp).await?
    } else if content_type.starts_with("text/csv")
        || content_type.starts_with("text/plain")
        || content_type.starts_with("application/octet-stream")
        || content_type.starts_with("text/tab-separated-values")
    {
        let body = req.into_body().into_data_stream();
        (None, body.map(|c| c.map_err(|e| SourceError::Unavailable(e.to_string()))).boxed())
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the CSV as `text/csv` or as the `file` part of a multipart form",
        ));
    };
    let file_name = q.file_name.or(name).unwrap_or_else(|| "upload.csv".to_owned());
    let id = ImportId::new();
    match import::run_stream(deps, &id, &file_name, Some(admin.0.id.clone()), chunks).await {
        Ok(summary) => Ok(Json(summary).into_response()),
        Err(e) => {
            if !matches!(e, ImportError::Refused { .. } | ImportError::Validation(_)) {
                // The body is gone, so this import can never resume.
                if let Err(fail) = import::fail(deps, &id, "upload_failed", &e.to_string()).await {
                    tracing::warn!(import_id = %id, error = %fail, "could not mark the import failed");
                }
            }
            Err(e.into())
        }
    }
}
