//! The REST endpoints the dialer calls: create, fetch and end a call, behind
//! HTTP basic auth, answering with Twilio's JSON shapes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;

use crate::errors::ApiError;
use crate::player;
use crate::request::CallRequest;
use crate::resource::{call_json, call_uri};
use crate::state::{EndRequest, SimState};

/// The simulator's REST API as a router, to serve or mount in-process.
pub fn router(state: SimState) -> Router {
    Router::new()
        .route("/2010-04-01/Accounts/{account}/Calls.json", post(create_call))
        .route("/2010-04-01/Accounts/{account}/Calls/{file}", get(fetch_call).post(update_call))
        .with_state(state)
}

/// `POST .../Calls.json`: validates, answers `queued` and starts playing.
async fn create_call(
    State(state): State<SimState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, &account, &format!("/2010-04-01/Accounts/{account}/Calls.json"))?;
    let req = CallRequest::parse(&form(&body)?)?;
    let now = Utc::now();
    let registered = state.register(&req.to, &req.from, now);
    let call = state.call(&registered.sid).ok_or_else(|| ApiError::NotFound(registered.sid.clone()))?;
    tracing::info!(call_sid = %call.sid, to = %call.to, "simulated call created");
    player::spawn(state.clone(), registered, req, now);
    Ok((StatusCode::CREATED, Json(call_json(&account, &call))).into_response())
}

/// `GET .../Calls/{Sid}.json`.
async fn fetch_call(
    State(state): State<SimState>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let sid = call_sid(&state, &headers, &account, &file)?;
    let call = state.call(sid).ok_or_else(|| ApiError::NotFound(call_uri(&account, sid)))?;
    Ok(Json(call_json(&account, &call)))
}

/// `POST .../Calls/{Sid}.json` with `Status=canceled|completed`: ends the call.
async fn update_call(
    State(state): State<SimState>,
    Path((account, file)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let sid = call_sid(&state, &headers, &account, &file)?;
    let form = form(&body)?;
    let value = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
    let request = match value("Status") {
        Some("canceled") => Some(EndRequest::Cancel),
        Some("completed") => Some(EndRequest::Complete),
        Some(other) => {
            return Err(ApiError::InvalidParameter(format!("Status '{other}' is not canceled or completed")))
        }
        None if value("Url").is_some() || value("Twiml").is_some() => {
            return Err(ApiError::InvalidParameter("redirecting a live call is not simulated".into()))
        }
        None => None,
    };
    let not_found = || ApiError::NotFound(call_uri(&account, sid));
    let call = match request {
        Some(r) => state.end(sid, r, Utc::now()).ok_or_else(not_found)?,
        None => state.call(sid).ok_or_else(not_found)?,
    };
    Ok(Json(call_json(&account, &call)))
}

/// Checks auth and the path, and returns the SID from `{Sid}.json`.
fn call_sid<'a>(state: &SimState, headers: &HeaderMap, account: &str, file: &'a str) -> Result<&'a str, ApiError> {
    let uri = format!("/2010-04-01/Accounts/{account}/Calls/{file}");
    authorize(state, headers, account, &uri)?;
    file.strip_suffix(".json").filter(|sid| !sid.is_empty()).ok_or(ApiError::NotFound(uri))
}

/// Basic auth must name this account with its token, and the path must be
/// this account's.
fn authorize(state: &SimState, headers: &HeaderMap, account: &str, uri: &str) -> Result<(), ApiError> {
    let config = state.config();
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let authentic = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(user, token)| user == config.account_sid && token == config.auth_token);
    if !authentic {
        return Err(ApiError::Unauthenticated);
    }
    if account != config.account_sid {
        return Err(ApiError::NotFound(uri.to_owned()));
    }
    Ok(())
}

/// A form-encoded body as name/value pairs, repeated names kept.
fn form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|e| ApiError::InvalidParameter(format!("unreadable form: {e}")))
}
