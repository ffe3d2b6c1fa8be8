//! `/api/session`: the signed-in salesperson's agent session (their open
//! line): start it, read it, end it, and end the conversation they are in
//! without leaving their line. See `ibrat_services::sessions`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ibrat_services::sessions::{self, error_code, SessionError};
use serde_json::json;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Maps session failures to statuses.
impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        let code = error_code(&e);
        match e {
            SessionError::NotSalesperson => ApiError::forbidden(e.to_string()),
            SessionError::NoPhoneNumber | SessionError::PhoneRefused(_) => ApiError::unprocessable(code, e.to_string()),
            SessionError::Active | SessionError::NoSession | SessionError::NoActiveCall => {
                ApiError::new(StatusCode::CONFLICT, code, e.to_string())
            }
            SessionError::Store(s) => s.into(),
            e if e.is_retryable() => ApiError::unavailable(e),
            e => ApiError::internal(e),
        }
    }
}

/// Starts a session: the salesperson's phone is called; they are ready once
/// they answer and are in their room.
#[utoipa::path(post, path = "/api/session", tag = "session", security(("bearer" = [])),
    responses((status = 202, description = "Calling the salesperson's phone", body = serde_json::Value),
              (status = 409, description = "A session is already open (`session_active`)", body = super::ErrorBody),
              (status = 422, description = "No phone number (`no_phone_number`) or a refused one (`phone_refused`)", body = super::ErrorBody)))]
pub async fn start(State(state): State<AppState>, user: AuthUser) -> Result<impl IntoResponse, ApiError> {
    let session = sessions::start(&state.deps, &user.actor()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "session": session }))))
}

/// The caller's latest session (null before their first).
#[utoipa::path(get, path = "/api/session", tag = "session", security(("bearer" = [])),
    responses((status = 200, description = "The session, or null", body = serde_json::Value)))]
pub async fn get(State(state): State<AppState>, user: AuthUser) -> Result<impl IntoResponse, ApiError> {
    let session = sessions::view(&state.deps, &user.actor().id).await?;
    Ok(Json(json!({ "session": session })))
}

/// Ends the session and hangs up the salesperson's line.
#[utoipa::path(delete, path = "/api/session", tag = "session", security(("bearer" = [])),
    responses((status = 200, description = "The ended session", body = serde_json::Value),
              (status = 409, description = "No session is open (`no_session`)", body = super::ErrorBody)))]
pub async fn end(State(state): State<AppState>, user: AuthUser) -> Result<impl IntoResponse, ApiError> {
    let session = sessions::end(&state.deps, &user.actor()).await?;
    Ok(Json(json!({ "session": session })))
}

/// Ends the conversation: the lead's leg is hung up, the salesperson stays
/// on their line in wrap-up.
#[utoipa::path(post, path = "/api/session/hangup", tag = "session", security(("bearer" = [])),
    responses((status = 200, description = "The call whose lead was hung up", body = serde_json::Value),
              (status = 409, description = "Not on a call (`no_active_call`)", body = super::ErrorBody)))]
pub async fn hangup(State(state): State<AppState>, user: AuthUser) -> Result<impl IntoResponse, ApiError> {
    let call_id = sessions::hangup(&state.deps, &user.actor()).await?;
    Ok(Json(json!({ "call_id": call_id })))
}
