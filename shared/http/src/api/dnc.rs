//! `/api/dnc/*`: the do-not-call list (admin).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_services::dnc::{self, DncError};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Maps do-not-call failures to statuses.
impl From<DncError> for ApiError {
    fn from(e: DncError) -> Self {
        match e {
            DncError::NotFound => ApiError::not_found("number"),
            DncError::Forbidden(m) => ApiError::forbidden(m),
            DncError::Validation(m) => ApiError::validation(m),
            DncError::Phone(e) => ApiError::validation(e.to_string()),
            DncError::Store(s) => s.into(),
        }
    }
}

/// Paging of the list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DncListQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A number to list.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncBody {
    pub phone: String,
    pub reason: Option<String>,
}

/// Lists numbers.
#[utoipa::path(get, path = "/api/dnc", tag = "dnc", security(("bearer" = [])), params(DncListQuery),
    responses((status = 200, description = "A page of numbers", body = serde_json::Value)))]
pub async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiQuery(q): ApiQuery<DncListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(dnc::list(&state.deps, &admin.actor(), q.limit, q.cursor.as_deref()).await?))
}

/// Lists a number (201; 200 when it already was) and moves its lead.
#[utoipa::path(post, path = "/api/dnc", tag = "dnc", security(("bearer" = [])), request_body = DncBody,
    responses((status = 201, description = "Listed", body = serde_json::Value),
              (status = 200, description = "Already listed", body = serde_json::Value)))]
pub async fn add(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(b): ApiJson<DncBody>,
) -> Result<impl IntoResponse, ApiError> {
    let added = dnc::add(&state.deps, &admin.actor(), &b.phone, b.reason.as_deref()).await?;
    let status = if added.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(added)))
}

/// Takes a number off the list (URL-encode the `+`).
#[utoipa::path(delete, path = "/api/dnc/{phone}", tag = "dnc", security(("bearer" = [])), params(("phone" = String, Path)),
    responses((status = 204, description = "Removed")))]
pub async fn remove(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(phone): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    dnc::remove(&state.deps, &admin.actor(), &phone).await?;
    Ok(StatusCode::NO_CONTENT)
}
