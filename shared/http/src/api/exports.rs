//! `GET /api/leads/export` and `GET /api/calls/export`: CSV downloads
//! (admin), streamed page by page and escaped against formula injection.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use ibrat_services::export::{self, ExportError};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::ApiQuery;
use super::ErrorBody;
use crate::api::imports::csv_response;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Maps export refusals to 400.
impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Validation(m) => ApiError::validation(m),
        }
    }
}

/// Every lead as CSV.
#[utoipa::path(get, path = "/api/leads/export", tag = "leads", security(("bearer" = [])),
    responses((status = 200, description = "Leads (text/csv)", body = String, content_type = "text/csv"),
              (status = 403, description = "Admins only", body = ErrorBody)))]
pub async fn leads(State(state): State<AppState>, _admin: AdminUser) -> Response {
    csv_response("leads.csv", export::leads_csv(state.deps.store.clone()))
}

/// Days of the calls export (UTC, inclusive).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallsExportQuery {
    /// First day (`yyyy-mm-dd`); 29 days before `to` by default.
    pub from: Option<NaiveDate>,
    /// Last day; today by default.
    pub to: Option<NaiveDate>,
}

/// Calls created in a range of days as CSV.
#[utoipa::path(get, path = "/api/calls/export", tag = "calls", security(("bearer" = [])), params(CallsExportQuery),
    responses((status = 200, description = "Calls (text/csv)", body = String, content_type = "text/csv"),
              (status = 400, description = "Bad range", body = ErrorBody)))]
pub async fn calls(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<CallsExportQuery>,
) -> Result<Response, ApiError> {
    let body = export::calls_csv(state.deps.store.clone(), state.deps.clock.now(), q.from, q.to)?;
    Ok(csv_response("calls.csv", body))
}
