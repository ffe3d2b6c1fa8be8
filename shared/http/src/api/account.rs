//! `/api/auth/*`: login, token refresh and logout, the caller's profile and
//! password, and admin-only registration.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_domain::{Role, UserId};
use ibrat_services::auth::{self, NewUser};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{parse_id, ApiJson, ApiPath};
use crate::auth::{AdminUser, AuthUser, ClientAddr};
use crate::error::ApiError;
use crate::state::AppState;

/// Credentials. (No `Debug`: the password must never reach a log.)
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// A refresh token to exchange or revoke.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Changes to one's own profile; an empty phone removes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

/// A password an admin sets for another user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordBody {
    /// At least 10 characters.
    pub new_password: String,
}

/// A new user (admin only).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub name: String,
    /// `admin` or `salesperson`.
    #[schema(value_type = String)]
    pub role: Role,
    pub phone: Option<String>,
}

/// Signs in.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "Access and refresh tokens with the user", body = serde_json::Value),
              (status = 401, description = "Wrong email or password", body = super::ErrorBody),
              (status = 429, description = "Locked out for a while; see Retry-After", body = super::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(auth::login(&state.deps, &body.email, &body.password, addr.as_deref()).await?))
}

/// Rotates a refresh token.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, description = "A new token pair", body = serde_json::Value),
              (status = 401, description = "Unknown, used or revoked token", body = super::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(auth::refresh(&state.deps, &body.refresh_token).await?))
}

/// Revokes the session of a refresh token.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = RefreshBody,
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    auth::logout(&state.deps, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/auth/profile", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = serde_json::Value)))]
pub async fn profile(State(state): State<AppState>, user: AuthUser) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(auth::profile(&state.deps, &user.actor()).await?))
}

/// Changes the caller's name or phone.
#[utoipa::path(patch, path = "/api/auth/profile", tag = "auth", security(("bearer" = [])), request_body = ProfilePatch,
    responses((status = 200, description = "The updated caller", body = serde_json::Value)))]
pub async fn update_profile(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<ProfilePatch>,
) -> Result<impl IntoResponse, ApiError> {
    let u = auth::update_profile(&state.deps, &user.actor(), body.name.as_deref(), body.phone.as_deref()).await?;
    Ok(Json(u))
}

/// Changes the caller's password; earlier sessions stop working.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordBody,
    responses((status = 200, description = "A fresh session", body = serde_json::Value),
              (status = 403, description = "The current password is wrong", body = super::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    let session = auth::change_password(&state.deps, &user.actor(), &body.current_password, &body.new_password).await?;
    Ok(Json(session))
}

/// Sets another user's password (admins only); their earlier sessions and
/// open sockets stop working.
#[utoipa::path(post, path = "/api/users/{id}/password", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ResetPasswordBody,
    responses((status = 200, description = "The user", body = serde_json::Value),
              (status = 404, description = "No such user", body = super::ErrorBody),
              (status = 422, description = "The password is too weak", body = super::ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ResetPasswordBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    Ok(Json(auth::reset_password(&state.deps, &admin.actor(), &id, &body.new_password).await?))
}

/// Creates a user (admins only; there is no self-registration).
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", security(("bearer" = [])), request_body = RegisterBody,
    responses((status = 201, description = "The new user", body = serde_json::Value),
              (status = 409, description = "The email is taken", body = super::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let input =
        NewUser { email: body.email, password: body.password, name: body.name, role: body.role, phone: body.phone };
    let user = auth::register(&state.deps, &admin.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(user)))
}
