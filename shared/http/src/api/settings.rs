//! `/api/settings`: admin settings.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_domain::Settings;
use ibrat_services::settings::{self, SettingsUpdateError};

use super::extract::ApiJson;
use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Maps settings failures to statuses.
impl From<SettingsUpdateError> for ApiError {
    fn from(e: SettingsUpdateError) -> Self {
        match e {
            SettingsUpdateError::Forbidden(m) => ApiError::forbidden(m),
            SettingsUpdateError::Invalid(e) => ApiError::validation(e.to_string()),
            SettingsUpdateError::Store(s) => s.into(),
        }
    }
}

/// Reads the settings.
#[utoipa::path(get, path = "/api/settings", tag = "settings", security(("bearer" = [])),
    responses((status = 200, description = "The settings", body = serde_json::Value)))]
pub async fn get(State(state): State<AppState>, admin: AdminUser) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(settings::get(&state.deps, &admin.actor()).await?))
}

/// Replaces the settings (missing fields take their defaults; unknown
/// fields are refused).
#[utoipa::path(put, path = "/api/settings", tag = "settings", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "Calling window, retry policy, ring timeout (15 to 60 s), caller id, pacing, ..."),
    responses((status = 200, description = "The saved settings", body = serde_json::Value),
              (status = 400, description = "A rule was broken", body = super::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    admin: AdminUser,
    ApiJson(body): ApiJson<Settings>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(settings::put(&state.deps, &admin.actor(), body).await?))
}
