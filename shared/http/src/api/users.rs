//! `/api/users/*`: user management (admin) and availability.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_domain::bounds::Instant;
use ibrat_domain::{Availability, Role, UserId};
use ibrat_services::users::{self, UserError, UserFilter, UserPatch};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::extract::{parse_id, ApiJson, ApiPath, ApiQuery};
use crate::auth::{AdminUser, AuthUser};
use crate::error::ApiError;
use crate::state::AppState;

/// Maps user-management failures to statuses.
impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::NotFound => ApiError::not_found("user"),
            UserError::Forbidden(m) => ApiError::forbidden(m),
            UserError::Validation(m) => ApiError::validation(m),
            UserError::Conflict(m) => ApiError::conflict(m),
            UserError::LastAdmin => ApiError::new(StatusCode::CONFLICT, "last_admin", UserError::LastAdmin.to_string()),
            UserError::NoSession => ApiError::new(StatusCode::CONFLICT, "no_session", UserError::NoSession.to_string()),
            UserError::Store(s) => s.into(),
        }
    }
}

/// Filters and paging of the user list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// `admin` or `salesperson`.
    #[param(value_type = Option<String>)]
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// `offline`, `available`, `on_call`, `wrap_up` or `away`.
    #[param(value_type = Option<String>)]
    pub availability: Option<Availability>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// An admin's changes to a user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    pub name: Option<String>,
    pub phone: Option<String>,
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Statistics period.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start (RFC 3339, years 2000 to 2199); default 30 days before `to`.
    #[param(value_type = Option<String>)]
    pub from: Option<Instant>,
    /// End (RFC 3339, years 2000 to 2199); default now.
    #[param(value_type = Option<String>)]
    pub to: Option<Instant>,
}

/// A new availability.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    /// `available` or `away` (admins also `offline`).
    #[schema(value_type = String)]
    pub availability: Availability,
}

/// Lists users.
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])), params(UserListQuery),
    responses((status = 200, description = "A page of users", body = serde_json::Value)))]
pub async fn list(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiQuery(q): ApiQuery<UserListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = UserFilter { role: q.role, active: q.active, availability: q.availability };
    Ok(Json(users::list(&state.deps, &admin.actor(), &filter, q.limit, q.cursor.as_deref()).await?))
}

/// Reads a user.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The user", body = serde_json::Value)))]
pub async fn get(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    Ok(Json(users::get(&state.deps, &admin.actor(), &id).await?))
}

/// Updates a user.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = UserPatchBody,
    responses((status = 200, description = "The updated user", body = serde_json::Value),
              (status = 409, description = "The last active admin cannot be demoted or deactivated", body = super::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    let patch = UserPatch { name: body.name, phone: body.phone, role: body.role, active: body.active };
    Ok(Json(users::update(&state.deps, &admin.actor(), &id, patch).await?))
}

/// Deactivates a user.
#[utoipa::path(post, path = "/api/users/{id}/deactivate", tag = "users", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The deactivated user", body = serde_json::Value),
              (status = 409, description = "The last active admin cannot be deactivated", body = super::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    Ok(Json(users::deactivate(&state.deps, &admin.actor(), &id).await?))
}

/// A user's call statistics.
#[utoipa::path(get, path = "/api/users/{id}/stats", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path), StatsQuery),
    responses((status = 200, description = "Calls, connects, talk time and outcomes", body = serde_json::Value)))]
pub async fn stats(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    Ok(Json(users::stats(&state.deps, &admin.actor(), &id, q.from.map(Instant::get), q.to.map(Instant::get)).await?))
}

/// Sets availability: salespeople their own (available or away), admins
/// anyone's. Another user's id reads as 404 for a salesperson.
#[utoipa::path(put, path = "/api/users/{id}/availability", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AvailabilityBody,
    responses((status = 200, description = "The user", body = serde_json::Value)))]
pub async fn set_availability(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    Ok(Json(users::set_availability(&state.deps, &user.actor(), &id, body.availability).await?))
}
