//! `GET /api/leads/export` and `GET /api/calls/export`: CSV downloads
//! (admin), read page by page and escaped against formula injection.
//! Streamed in the response ([`ExportDelivery::Stream`], local mode), or
//! written to object storage and answered with `{download_url, file_name,
//! bytes, expires_in_secs}` ([`ExportDelivery::Link`], the `api` Lambda,
//! whose responses are buffered and capped at 6 MB).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures::stream::BoxStream;
use ibrat_domain::bounds::Day;
use ibrat_ports::StoreError;
use ibrat_services::export::{self, ExportError};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::ApiQuery;
use super::ErrorBody;
use crate::api::imports::csv_response;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::{AppState, ExportDelivery};

/// Maps export refusals to 400; a failed store of the file to 503 when
/// retrying may help (the table or the storage is down), else 500.
impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Validation(m) => ApiError::validation(m),
            e if e.is_retryable() => ApiError::unavailable(CauseChain(&e)),
            e => ApiError::internal(CauseChain(&e)),
        }
    }
}

/// An error with its causes, for the log.
struct CauseChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for CauseChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

/// The export as the state says: streamed, or stored with a link.
async fn deliver(
    state: &AppState,
    file_name: &str,
    body: BoxStream<'static, Result<Bytes, StoreError>>,
) -> Result<Response, ApiError> {
    match state.exports {
        ExportDelivery::Stream => Ok(csv_response(file_name, body)),
        ExportDelivery::Link => Ok(Json(export::to_blob(&state.deps, file_name, body).await?).into_response()),
    }
}

/// Every lead as CSV (or, on AWS, a link to it).
#[utoipa::path(get, path = "/api/leads/export", tag = "leads", security(("bearer" = [])),
    responses((status = 200, description = "Leads (text/csv), or on AWS a JSON link {download_url, file_name, bytes, expires_in_secs}", body = String, content_type = "text/csv"),
              (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn leads(State(state): State<AppState>, _admin: AdminUser) -> Result<Response, ApiError> {
    deliver(&state, "leads.csv", export::leads_csv(state.deps.store.clone())).await
}

/// Days of the calls export (UTC, inclusive).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallsExportQuery {
    /// First day (`yyyy-mm-dd`, years 2000 to 2199); 29 days before `to` by default.
    #[param(value_type = Option<String>)]
    pub from: Option<Day>,
    /// Last day; today by default.
    #[param(value_type = Option<String>)]
    pub to: Option<Day>,
}

/// Calls created in a range of days as CSV (or, on AWS, a link to it).
#[utoipa::path(get, path = "/api/calls/export", tag = "calls", security(("bearer" = [])), params(CallsExportQuery),
    responses((status = 200, description = "Calls (text/csv), or on AWS a JSON link {download_url, file_name, bytes, expires_in_secs}", body = String, content_type = "text/csv"),
              (status = 400, description = "Bad range", body = ErrorBody)))]
pub async fn calls(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<CallsExportQuery>,
) -> Result<Response, ApiError> {
    let body =
        export::calls_csv(state.deps.store.clone(), state.deps.clock.now(), q.from.map(Day::get), q.to.map(Day::get))?;
    deliver(&state, "calls.csv", body).await
}
